import bcrypt from 'bcryptjs';
import type { Browser } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMetaBody, signMetaBody, whatsappMessageBody } from '../../dev/meta-payloads';
import { type MetaGraphStandIn, startMetaGraph } from '../../dev/stand-ins/meta-graph';
import { type QStashStandIn, startQStash } from '../../dev/stand-ins/qstash';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { startUpstashRedis, type UpstashRedisStandIn } from '../../dev/stand-ins/upstash-redis';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET, testBindings } from '../harness';
import { customerPhone, waNumber } from '../meta-webhooks';
import { tinyPng } from '../png';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';

const haveChromium = chromiumAvailable('browser tests');

/**
 * An operator who belongs to two businesses opens, in the second one, a customer's photo: the
 * real Worker (workerd) downloads it from the Graph stand-in into its local R2 bucket through the
 * media-download job (QStash stand-in), and the page fetches it as that business.
 */
describe.skipIf(!haveChromium)('attachments on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let first: TenantFixture;
  let second: TenantFixture;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let redis: UpstashRedisStandIn;
  let qstash: QStashStandIn;
  let graph: MetaGraphStandIn;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  const password = 'correct horse battery staple';
  const customer = customerPhone();

  beforeAll(async () => {
    sql = adminSql();
    first = await createTenant(sql, 'First Clinic');
    second = await createTenant(sql, 'Second Clinic');
    // The first business's owner is also an agent of the second (joined later, so the first is
    // what a request without X-Tenant-Id acts on).
    await sql`insert into tenant_members (tenant_id, user_id, role, created_at)
      values (${second.tenantId}, ${first.owner.id}, 'agent', now() + interval '1 second')`;
    await sql`update auth.users set encrypted_password = ${await bcrypt.hash(password, 4)} where id = ${first.owner.id}`;
    // The photo is all this test is about: no agent replies.
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${second.tenantId}`;

    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    const keys = testBindings();
    redis = await startUpstashRedis({ token: keys.UPSTASH_REDIS_REST_TOKEN ?? '' });
    qstash = await startQStash({
      token: keys.QSTASH_TOKEN ?? '',
      currentSigningKey: keys.QSTASH_CURRENT_SIGNING_KEY ?? '',
      nextSigningKey: keys.QSTASH_NEXT_SIGNING_KEY ?? '',
      retryBackoffMs: () => 500,
    });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(second) }],
      statusProgression: false,
    });
    worker = await startWorkerd({
      SUPABASE_URL: auth.url,
      UPSTASH_REDIS_REST_URL: redis.url,
      QSTASH_URL: qstash.url,
      GRAPH_API_BASE_URL: graph.url,
    });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await Promise.all([auth?.close(), redis?.close(), qstash?.close(), graph?.close()]);
    await sql?.end();
  });

  it('opens a photo of a chat in the second business', async () => {
    const mediaId = graph.addMedia(tinyPng(), 'image/png');
    const raw = encodeMetaBody(
      whatsappMessageBody({
        ...waNumber(second),
        from: customer,
        name: 'Nadia',
        message: { type: 'image', mediaId, mimeType: 'image/png', caption: 'my x-ray' },
      }),
    );
    const webhook = await fetch(`${worker.url}/webhooks/meta`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signMetaBody(raw, TEST_APP_SECRET),
      },
      body: raw,
    });
    expect(webhook.status).toBe(200);
    // The media-download job stores the photo in the Worker's bucket.
    await expect
      .poll(
        async () => {
          const [row] = await sql`select m.attachments->0->>'storageKey' as key from messages m
            join conversations c on c.id = m.conversation_id
            join contacts k on k.id = c.contact_id
            where m.tenant_id = ${second.tenantId} and k.external_user_id = ${customer}`;
          return row?.key ?? null;
        },
        { timeout: 30_000, interval: 300 },
      )
      .toMatch(/^tenants\//);

    const page = await browser.newPage();
    await page.goto(worker.url);
    await page.fill('input[name=email]', first.owner.email);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('#inbox:not([hidden])');
    expect(await page.textContent('#tenant-name')).toBe('First Clinic');
    await page.selectOption('#tenant-switch', second.tenantId);
    await expect.poll(() => page.textContent('#tenant-name')).toBe('Second Clinic');

    await page.locator('#chat-list').getByText('Nadia').click();
    // The photo shows in the thread, fetched as the second business, its caption its text.
    const preview = page.locator('#messages img.preview-image');
    await expect
      .poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth).catch(() => 0), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    expect(await preview.getAttribute('alt')).toBe('my x-ray');
    const link = page.locator('#messages a', { hasText: '📎' });
    const responded = page.waitForResponse((res) => res.url().includes('/admin/media/'));
    const opened = page.waitForEvent('popup');
    // Awaited after the status check, which says more when the file is refused.
    opened.catch(() => {});
    await link.click();
    const response = await responded;
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('image/png');
    const popup = await opened;
    await popup.waitForLoadState();
    await expect
      .poll(() => popup.evaluate(() => document.images[0]?.naturalWidth ?? 0))
      .toBeGreaterThan(0);
    expect(await page.textContent('#thread-error')).toBe('');
    await page.close();
  }, 90_000);
});
