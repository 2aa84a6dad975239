import { describe, expect } from 'vitest';
import { TEST_ENCRYPTION_KEY } from '../../../test/fixtures';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';
import { decryptSecret } from '../../lib/crypto';
import { PREVIOUS_SECRET_GRACE_MS } from '.';

const gupshupNumber = () => ({
  provider: 'gupshup',
  external_id: `Salon${crypto.randomUUID().slice(0, 8)}`,
  display_name: 'Salon (Gupshup)',
  display_phone_number: '+15550100001',
  waba_id: '102290129340398',
  api_key: 'gupshup-key-0123456789',
});
const ycloudNumber = () => ({
  provider: 'ycloud',
  external_id: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
  display_name: 'Salon (YCloud)',
  display_phone_number: '+15550100002',
  api_key: 'ycloud-key-0123456789',
  webhook_secret: 'whsec_0123456789abcdef0123',
});

describeOperatorSecurity({ method: 'GET', path: '/admin/channels' });
describeOperatorSecurity({ method: 'POST', path: '/admin/channels', body: gupshupNumber() });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/channels/:foreignId/webhook-secret',
  body: {},
  foreignId: async (sql, b) => {
    const id = crypto.randomUUID();
    await sql`insert into channel_accounts (id, tenant_id, channel, provider, external_id, display_name)
      values (${id}, ${b.tenantId}, 'whatsapp', 'gupshup', ${`Foreign${id.slice(0, 8)}`}, 'B')`;
    return id;
  },
});
describeOperatorSecurity({
  method: 'PUT',
  path: '/admin/channels/:foreignId/api-key',
  body: { api_key: 'another-key-0123' },
  foreignId: async (sql, b) => {
    const id = crypto.randomUUID();
    await sql`insert into channel_accounts (id, tenant_id, channel, provider, external_id, display_name)
      values (${id}, ${b.tenantId}, 'whatsapp', 'ycloud', ${`+1999${id.slice(0, 6).replace(/\D/g, '1')}`}, 'B')`;
    return id;
  },
});

describeOperatorSecurity({
  method: 'POST',
  path: '/admin/channels/widgets',
  body: { title: 'Shop', allowed_origins: ['https://shop.example'] },
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/channels/:foreignId/widget',
  body: { title: 'Changed' },
  foreignId: async (sql, b) => {
    const id = crypto.randomUUID();
    await sql`insert into channel_accounts (id, tenant_id, channel, external_id, display_name)
      values (${id}, ${b.tenantId}, 'web', ${`pk_foreign_${id}`}, 'B site')`;
    await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins, title)
      values (${b.tenantId}, ${id}, '["https://b.example"]', 'B')`;
    return id;
  },
});

type Connected = {
  account: { id: string; provider: string; callback_url: string; external_id: string };
  callback_url: string;
};
type ErrorBody = { error: { code: string; message: string } };
const post = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });

describe('/admin/channels', () => {
  it('connects a Gupshup number with its key and callback secret sealed, and lists it', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Channels A');
    const input = gupshupNumber();
    const res = await h.asUser(a.owner, '/admin/channels', post(input));
    expect(res.status).toBe(201);
    const body = (await res.json()) as Connected;
    const url = new URL(body.callback_url);
    expect(url.pathname).toBe(`/webhooks/gupshup/${body.account.id}`);
    const secret = url.searchParams.get('secret') ?? '';
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The list never shows the secret.
    expect(body.account.callback_url).toBe(`${url.origin}${url.pathname}`);

    const [stored] = await sql`select c.access_token, c.webhook_secret, a.provider, a.channel
      from private.channel_credentials c join channel_accounts a on a.id = c.channel_account_id
      where a.id = ${body.account.id}`;
    expect(stored?.provider).toBe('gupshup');
    expect(stored?.channel).toBe('whatsapp');
    expect(stored?.access_token).not.toContain(input.api_key);
    expect(await decryptSecret(stored?.access_token, TEST_ENCRYPTION_KEY)).toBe(input.api_key);
    expect(await decryptSecret(stored?.webhook_secret, TEST_ENCRYPTION_KEY)).toBe(secret);

    const list = await h.asUser(a.agent, '/admin/channels');
    expect(list.status).toBe(200);
    const items = ((await list.json()) as { items: Array<Record<string, unknown>> }).items;
    expect(items.map((i) => [i.channel, i.provider])).toEqual([
      ['whatsapp', 'meta'],
      ['whatsapp', 'gupshup'],
      ['messenger', 'meta'],
      ['instagram', 'meta'],
    ]);
    expect(items.find((i) => i.provider === 'meta' && i.channel === 'whatsapp')?.callback_url).toBe(
      null,
    );
    expect(JSON.stringify(items)).not.toContain(secret);
  });

  it('refuses agents, a YCloud number without its signing secret or E.164 form, and a number twice', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Channels refusals');
    const asAgent = await h.asUser(a.agent, '/admin/channels', post(gupshupNumber()));
    expect(asAgent.status).toBe(403);

    const { webhook_secret: _, ...noSecret } = ycloudNumber();
    const missing = await h.asUser(a.owner, '/admin/channels', post(noSecret));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).error.message).toContain('webhook_secret');
    const notE164 = await h.asUser(
      a.owner,
      '/admin/channels',
      post({ ...ycloudNumber(), external_id: 'AcmeApp' }),
    );
    expect(notE164.status).toBe(400);
    expect(((await notE164.json()) as ErrorBody).error.message).toContain('E.164');

    const input = ycloudNumber();
    expect((await h.asUser(a.owner, '/admin/channels', post(input))).status).toBe(201);
    const again = await h.asUser(a.owner, '/admin/channels', post(input));
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).error.message).toContain('already connected');
    const [count] = await sql`select count(*)::int as n from channel_accounts
      where tenant_id = ${a.tenantId} and provider = 'ycloud'`;
    expect(count?.n).toBe(1);
  });

  it('rotates a callback secret, keeping the old one for the grace period, and replaces an API key', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Channels rotate');
    const b = await newTenant('Channels other');
    const gupshup = (await (
      await h.asUser(a.owner, '/admin/channels', post(gupshupNumber()))
    ).json()) as Connected;
    const ycloud = (await (
      await h.asUser(a.owner, '/admin/channels', post(ycloudNumber()))
    ).json()) as Connected;
    const firstSecret = new URL(gupshup.callback_url).searchParams.get('secret');

    const path = (id: string) => `/admin/channels/${id}/webhook-secret`;
    const rotated = await h.asUser(a.owner, path(gupshup.account.id), post({}));
    expect(rotated.status).toBe(200);
    const body = (await rotated.json()) as {
      callback_url: string;
      previous_secret_valid_until: string;
    };
    const newSecret = new URL(body.callback_url).searchParams.get('secret');
    expect(newSecret).not.toBe(firstSecret);
    const until = Date.parse(body.previous_secret_valid_until);
    expect(until - Date.now()).toBeGreaterThan(PREVIOUS_SECRET_GRACE_MS - 60_000);
    expect(until - Date.now()).toBeLessThanOrEqual(PREVIOUS_SECRET_GRACE_MS);
    const [creds] = await sql`select webhook_secret, previous_webhook_secret
      from private.channel_credentials where channel_account_id = ${gupshup.account.id}`;
    expect(await decryptSecret(creds?.webhook_secret, TEST_ENCRYPTION_KEY)).toBe(newSecret);
    expect(await decryptSecret(creds?.previous_webhook_secret, TEST_ENCRYPTION_KEY)).toBe(
      firstSecret,
    );

    // YCloud's secret is YCloud's to make: without it, nothing changes.
    const [before] = await sql`select webhook_secret from private.channel_credentials
      where channel_account_id = ${ycloud.account.id}`;
    const refused = await h.asUser(a.owner, path(ycloud.account.id), post({}));
    expect(refused.status).toBe(422);
    const [after] = await sql`select webhook_secret, previous_webhook_secret
      from private.channel_credentials where channel_account_id = ${ycloud.account.id}`;
    expect(after?.webhook_secret).toBe(before?.webhook_secret);
    expect(after?.previous_webhook_secret).toBeNull();
    const given = await h.asUser(
      a.owner,
      path(ycloud.account.id),
      post({ webhook_secret: 'whsec_new_0123456789abcdef' }),
    );
    expect(given.status).toBe(200);
    expect(((await given.json()) as { callback_url: string }).callback_url).not.toContain('secret');

    // A Meta account has no callback secret of its own; another business's number is not found.
    expect((await h.asUser(a.owner, path(a.accounts.whatsapp.id), post({}))).status).toBe(404);
    expect((await h.asUser(b.owner, path(gupshup.account.id), post({}))).status).toBe(404);

    const key = await h.asUser(a.owner, `/admin/channels/${ycloud.account.id}/api-key`, {
      method: 'PUT',
      body: JSON.stringify({ api_key: 'ycloud-key-rotated-0001' }),
    });
    expect(key.status).toBe(204);
    const [sealed] = await sql`select access_token from private.channel_credentials
      where channel_account_id = ${ycloud.account.id}`;
    expect(await decryptSecret(sealed?.access_token, TEST_ENCRYPTION_KEY)).toBe(
      'ycloud-key-rotated-0001',
    );
  });
});

describe('/admin/channels: web widgets', () => {
  it('an owner adds a widget for the site, gets its script tag, changes its origins; the widget answers that site only', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Widgets A');
    const b = await newTenant('Widgets B');
    const created = await h.asUser(
      a.owner,
      '/admin/channels/widgets',
      post({
        title: 'Clínica A',
        allowed_origins: ['https://clinica-a.example'],
        color: '#123456',
      }),
    );
    expect(created.status).toBe(201);
    const body = (await created.json()) as {
      account: {
        id: string;
        channel: string;
        external_id: string;
        widget: Record<string, unknown>;
      };
      script_tag: string;
    };
    const key = body.account.external_id;
    expect(key).toMatch(/^pk_live_[0-9a-f]{32}$/);
    expect(body.script_tag).toBe(
      `<script src="http://switchboard.test/widget.js" data-key="${key}" async></script>`,
    );
    expect(body.account).toMatchObject({
      channel: 'web',
      widget: {
        allowed_origins: ['https://clinica-a.example'],
        title: 'Clínica A',
        color: '#123456',
        greeting: '',
      },
    });
    const session = (origin: string) =>
      h.request('http://switchboard.test/widget/session', {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/json',
          'cf-connecting-ip': crypto.randomUUID(),
        },
        body: JSON.stringify({ key }),
      });
    expect((await session('https://clinica-a.example')).status).toBe(200);
    expect((await session('https://elsewhere.example')).status).toBe(403);

    const patch = (user: { id: string; email: string }, id: string, changes: unknown) =>
      h.asUser(user, `/admin/channels/${id}/widget`, {
        method: 'PATCH',
        body: JSON.stringify(changes),
      });
    const moved = await patch(a.owner, body.account.id, {
      allowed_origins: ['https://www.clinica-a.example'],
      greeting: 'Hola',
    });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { widget: unknown }).widget).toEqual({
      allowed_origins: ['https://www.clinica-a.example'],
      title: 'Clínica A',
      color: '#123456',
      greeting: 'Hola',
    });
    expect((await session('https://clinica-a.example')).status).toBe(403);
    expect((await session('https://www.clinica-a.example')).status).toBe(200);

    // Refused: an origin with a path, no origin at all, nothing to change, an agent, another
    // business's widget, and an account that is not a widget.
    const badOrigin = await h.asUser(
      a.owner,
      '/admin/channels/widgets',
      post({ title: 'X', allowed_origins: ['https://clinica-a.example/contact'] }),
    );
    expect(badOrigin.status).toBe(400);
    expect(((await badOrigin.json()) as ErrorBody).error.message).toContain('origin');
    expect(
      (
        await h.asUser(
          a.owner,
          '/admin/channels/widgets',
          post({ title: 'X', allowed_origins: [] }),
        )
      ).status,
    ).toBe(400);
    expect((await patch(a.owner, body.account.id, {})).status).toBe(400);
    expect((await patch(a.agent, body.account.id, { title: 'Agent' })).status).toBe(403);
    expect((await patch(b.owner, body.account.id, { title: 'Other' })).status).toBe(404);
    expect((await patch(a.owner, a.accounts.whatsapp.id, { title: 'Not a widget' })).status).toBe(
      404,
    );
    const [unchanged] =
      await sql`select title from widgets where channel_account_id = ${body.account.id}`;
    expect(unchanged?.title).toBe('Clínica A');

    const list = (await (await h.asUser(a.agent, '/admin/channels')).json()) as {
      items: Array<{ channel: string; widget: unknown }>;
    };
    expect(list.items.filter((i) => i.channel === 'web')).toHaveLength(1);
  });
});
