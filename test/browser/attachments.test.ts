import { deflateSync } from 'node:zlib';
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
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';

const haveChromium = chromiumAvailable('browser tests');

/** A valid 2×2 PNG (red), so the browser has a picture to decode, not just bytes. */
function tinyPng(): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = (crcTable[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0); // width
  header.writeUInt32BE(2, 4); // height
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = [0, 255, 0, 0, 255, 0, 0]; // filter byte, then two red pixels
  const pixels = deflateSync(Buffer.from([...row, ...row]));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', pixels),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

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
