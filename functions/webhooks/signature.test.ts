import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  encodeMetaBody,
  randomWamid,
  signMetaBody,
  whatsappMessageBody,
} from '../../dev/meta-payloads';
import { verifyWebhookSubscription } from '../../dev/stand-ins/meta-graph';
import { TEST_ENCRYPTION_KEY, type TenantFixture } from '../../test/fixtures';
import { TEST_APP_SECRET, TEST_VERIFY_TOKEN } from '../../test/harness';
import { it, must } from '../../test/it';
import {
  customerPhone,
  eventOf,
  messagesOf,
  postWebhook,
  WEBHOOK_URL,
  waNumber,
} from '../../test/meta-webhooks';
import { encryptSecret } from '../lib/crypto';
import { eventIdOf } from '.';
import { escapeNonAscii, parseSignatureHeader, signatureMatches } from './signature';

const encoder = new TextEncoder();

describe('signature primitives', () => {
  it('escapes every character outside printable ASCII as lowercase \\uXXXX (UTF-16 units)', () => {
    expect(escapeNonAscii('äöå / ok')).toBe('\\u00e4\\u00f6\\u00e5 / ok');
    expect(escapeNonAscii('😀')).toBe('\\ud83d\\ude00');
    expect(escapeNonAscii('plain')).toBe('plain');
  });

  it('parses only a sha256=<64 hex> header', () => {
    expect(parseSignatureHeader(`sha256=${'ab'.repeat(32)}`)).toHaveLength(32);
    expect(parseSignatureHeader(`sha1=${'ab'.repeat(20)}`)).toBeNull();
    expect(parseSignatureHeader(`sha256=${'ab'.repeat(31)}`)).toBeNull();
    expect(parseSignatureHeader(`sha256=${'zz'.repeat(32)}`)).toBeNull();
    expect(parseSignatureHeader(undefined)).toBeNull();
  });

  it('accepts the raw-byte HMAC and the HMAC of the unicode-escaped body, nothing else', async () => {
    const text = '{"text":"cañón"}';
    const raw = encoder.encode(text);
    const sig = async (s: string) =>
      must(parseSignatureHeader(await signMetaBody(s, 'secret-1')), 'the parsed signature');
    expect(await signatureMatches(await sig(text), raw, text, ['secret-1'])).toBe(true);
    expect(await signatureMatches(await sig(escapeNonAscii(text)), raw, text, ['secret-1'])).toBe(
      true,
    );
    expect(await signatureMatches(await sig(text), raw, text, ['secret-2'])).toBe(false);
    expect(await signatureMatches(await sig(`${text} `), raw, text, ['secret-1'])).toBe(false);
  });
});

describe('POST /webhooks/meta: signatures', () => {
  const textBody = (t: TenantFixture, text: string) =>
    whatsappMessageBody({ ...waNumber(t), from: customerPhone(), message: { type: 'text', text } });

  async function storedTexts(sql: postgres.Sql, t: TenantFixture) {
    return (await messagesOf(sql, t.accounts.whatsapp.id)).map((m) => m.content);
  }

  async function expectRefused(sql: postgres.Sql, res: Response, raw: string | Uint8Array) {
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('UNAUTHORIZED');
    const id = await eventIdOf(typeof raw === 'string' ? encoder.encode(raw) : raw);
    expect(await eventOf(sql, id)).toBeUndefined();
  }

  it('accepts a body signed with the app secret (Meta-escaped JSON)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const res = await postWebhook(h, textBody(t, 'valid signature'));
    expect(res.status).toBe(200);
    expect(await storedTexts(sql, t)).toContain('valid signature');
  });

  it('refuses a wrong secret, a changed byte and a missing header, storing nothing', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const body = textBody(t, 'should never be stored, a/b ñ');
    const raw = encodeMetaBody(body);
    await expectRefused(sql, await postWebhook(h, body, { secret: 'not-the-app-secret' }), raw);
    await expectRefused(sql, await postWebhook(h, body, { signature: null }), raw);
    await expectRefused(
      sql,
      await postWebhook(h, body, { signature: `sha1=${'0'.repeat(40)}` }),
      raw,
    );
    // Signed, then one byte changed in transit.
    const signature = await signMetaBody(raw, TEST_APP_SECRET);
    const tampered = raw.replace('should never', 'should NEVER');
    await expectRefused(sql, await postWebhook(h, null, { raw: tampered, signature }), tampered);
    // A re-serialised body (what a JSON body parser would hand over) no longer matches.
    const reserialised = JSON.stringify(JSON.parse(raw));
    expect(reserialised).not.toBe(raw);
    await expectRefused(
      sql,
      await postWebhook(h, null, { raw: reserialised, signature }),
      reserialised,
    );
    expect(await storedTexts(sql, t)).not.toContain('should never be stored, a/b ñ');
  });

  it('checks the raw bytes of a non-ASCII body sent unescaped', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const raw = JSON.stringify(textBody(t, '¿Mañana a las 10? مرحبا 😀'));
    const res = await postWebhook(h, null, { raw });
    expect(res.status).toBe(200);
    expect(await storedTexts(sql, t)).toContain('¿Mañana a las 10? مرحبا 😀');
  });

  it('accepts the unicode-escaped variant: raw UTF-8 on the wire, signature over the escaped form', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const raw = JSON.stringify(textBody(t, 'Größe äöå'));
    const signature = await signMetaBody(escapeNonAscii(raw), TEST_APP_SECRET);
    const res = await postWebhook(h, null, { raw, signature });
    expect(res.status).toBe(200);
    expect(await storedTexts(sql, t)).toContain('Größe äöå');
  });

  it("accepts an account's own app secret (encrypted at rest) for that account only", async ({
    harness: h,
    sql,
    tenant: t,
    newTenant,
  }) => {
    const own = await newTenant('Own app');
    const sealed = await encryptSecret('account-own-app-secret', TEST_ENCRYPTION_KEY);
    await sql`update private.channel_credentials set app_secret = ${sealed}
      where channel_account_id = ${own.accounts.whatsapp.id}`;
    const body = whatsappMessageBody({
      ...waNumber(own),
      from: customerPhone(),
      message: { type: 'text', text: 'signed by the account app' },
    });
    expect((await postWebhook(h, body, { secret: 'account-own-app-secret' })).status).toBe(200);
    expect((await messagesOf(sql, own.accounts.whatsapp.id)).map((m) => m.content)).toEqual([
      'signed by the account app',
    ]);
    // The same secret does not sign for another account.
    const other = textBody(t, 'other account, wrong app');
    await expectRefused(
      sql,
      await postWebhook(h, other, { secret: 'account-own-app-secret' }),
      encodeMetaBody(other),
    );

    // A business knows its own app secret: it must not be able to write into another business's
    // chats by adding their number to a body it signs. That part is refused, also on replay.
    const forgedId = randomWamid();
    const mixed = {
      object: 'whatsapp_business_account',
      entry: [
        ...whatsappMessageBody({
          ...waNumber(own),
          from: customerPhone(),
          message: { type: 'text', text: 'own part' },
        }).entry,
        ...whatsappMessageBody({
          ...waNumber(t),
          from: customerPhone(),
          id: forgedId,
          message: { type: 'text', text: 'forged into another business' },
        }).entry,
      ],
    };
    const res = await postWebhook(h, mixed, { secret: 'account-own-app-secret' });
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const event = await eventOf(sql, event_id);
    expect(event).toMatchObject({ outcome: 'dead', tenant_id: own.tenantId });
    expect(event?.reason).toContain(
      `whatsapp account ${t.accounts.whatsapp.externalId}: not signed with its app secret`,
    );
    const replay = await h.asUser(own.owner, `/admin/webhook-events/${event_id}/replay`, {
      method: 'POST',
    });
    expect(replay.status).toBe(200);
    expect(await sql`select id from messages where provider_message_id = ${forgedId}`).toEqual([]);
    expect((await messagesOf(sql, own.accounts.whatsapp.id)).map((m) => m.content).sort()).toEqual([
      'own part',
      'signed by the account app',
    ]);
  });

  it('answers the subscription handshake with the bare challenge, and 403 for a wrong token', async ({
    harness: h,
  }) => {
    const ok = await verifyWebhookSubscription({
      webhookUrl: WEBHOOK_URL,
      verifyToken: TEST_VERIFY_TOKEN,
      deliver: (req) => h.request(req),
    });
    expect(ok.ok).toBe(true);
    const wrong = await verifyWebhookSubscription({
      webhookUrl: WEBHOOK_URL,
      verifyToken: 'not-the-token',
      deliver: (req) => h.request(req),
    });
    expect(wrong.status).toBe(403);
    const noMode = await h.request(
      `${WEBHOOK_URL}?hub.verify_token=${TEST_VERIFY_TOKEN}&hub.challenge=1`,
    );
    expect(noMode.status).toBe(403);
  });
});
