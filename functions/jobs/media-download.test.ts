import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  messengerMessageBody,
  randomMid,
  randomWamid,
  type WhatsAppMessageInput,
  whatsappMessageBody,
} from '../../dev/meta-payloads';
import { listenOnLoopback } from '../../dev/stand-ins/http-server';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { customerPhone, postWebhook, scopedUserId, waNumber } from '../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../test/operator-security';
import { startR2Bucket } from '../../test/r2';
import { mediaStorageKey, UPLOAD_PART_BYTES } from './media-download';

describeOperatorSecurity({
  method: 'GET',
  path: '/admin/media/:foreignId/0',
  foreignId: async (sql, b) => {
    const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id)
      values (${b.tenantId}, 'whatsapp', ${customerPhone()}) returning id`;
    const [conversation] =
      await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
      values (${b.tenantId}, ${contact!.id}, ${b.accounts.whatsapp.id}) returning id`;
    const attachments = [
      { kind: 'image', mimeType: 'image/jpeg', storageKey: `tenants/${b.tenantId}/x` },
    ];
    const [message] =
      await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction,
        sender, type, attachments, provider_message_id, provider_timestamp, status)
      values (${b.tenantId}, ${conversation!.id}, ${b.accounts.whatsapp.id}, 'inbound', 'user', 'image',
              ${sql.json(attachments)}, ${randomWamid()}, now(), 'received') returning id`;
    return message!.id as string;
  },
});

/** A large file, quickly: a repeating pattern with a counter so parts differ. */
function largeFileOf(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i + 4 <= size; i += 4096) view.setUint32(i, i);
  return bytes;
}

/** Bytes that look like a file of the given size (content does not matter to the pipeline). */
function fileOf(size: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('media-download job: WhatsApp media and Messenger attachments into R2', () => {
  let h: Harness;
  let sql: postgres.Sql;
  let t: TenantFixture;
  let r2: Awaited<ReturnType<typeof startR2Bucket>>;
  let cdn: Awaited<ReturnType<typeof listenOnLoopback>>;
  const cdnFile = fileOf(2048, 3);
  /** Three parts of a multipart upload: 8 MiB, 8 MiB and the rest. */
  const bigFile = largeFileOf(2 * UPLOAD_PART_BYTES + 1234);
  /** Past Messenger's 25 MB for any attachment. */
  const tooBig = largeFileOf(25 * 1024 * 1024 + 1);
  const chunked = (bytes: Uint8Array, contentType: string) => {
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(at, at + 1024 * 1024));
        at += 1024 * 1024;
      },
    });
    return new Response(body, { headers: { 'content-type': contentType } });
  };

  beforeAll(async () => {
    r2 = await startR2Bucket();
    cdn = await listenOnLoopback((req) => {
      const path = new URL(req.url).pathname;
      if (path === '/photo.jpg') {
        return new Response(cdnFile as Uint8Array<ArrayBuffer>, {
          headers: { 'content-type': 'image/jpeg' },
        });
      }
      // Sent in 1 MiB chunks with no length announced, as a CDN may: only counting tells the size.
      if (path === '/big.pdf') return chunked(bigFile, 'application/pdf');
      if (path === '/too-big.bin') return chunked(tooBig, 'application/octet-stream');
      return new Response('gone', { status: 404 });
    });
    h = await createHarness({ objectBindings: { MEDIA: r2.bucket } });
    sql = adminSql();
    t = await createTenant(sql, 'Media');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await sql.end();
    await h.close();
    await cdn.close();
    await r2.close();
  });

  async function receive(message: WhatsAppMessageInput) {
    const id = randomWamid();
    const res = await postWebhook(
      h,
      whatsappMessageBody({ ...waNumber(t), from: customerPhone(), id, message }),
    );
    expect(res.status).toBe(200);
    await h.settle();
    const [row] = await sql`select id, attachments from messages where provider_message_id = ${id}`;
    return row!;
  }

  async function openAsOperator(messageId: string, index = 0) {
    return h.asUser(t.agent, `/admin/media/${messageId}/${index}`);
  }

  it('downloads a WhatsApp image (media id → URL → bytes, with the bearer token) into R2', async () => {
    const bytes = fileOf(4096);
    const mediaId = h.graph!.addMedia(bytes, 'image/jpeg');
    const row = await receive({
      type: 'image',
      mediaId,
      mimeType: 'image/jpeg',
      caption: 'receta',
    });
    const key = mediaStorageKey(t.tenantId, row.id, 0);
    expect(row.attachments[0]).toMatchObject({
      kind: 'image',
      providerMediaId: mediaId,
      caption: 'receta',
      storageKey: key,
      mimeType: 'image/jpeg',
      data: { download: { status: 'stored', size: 4096 } },
    });
    const object = await r2.bucket.get(key);
    expect(new Uint8Array(await object!.arrayBuffer())).toEqual(bytes);
    expect(object!.httpMetadata?.contentType).toBe('image/jpeg');
    // The two Graph calls: the lookup, then the (expiring) download URL, both authorised.
    const calls = h.graph!.requests.filter((r) => r.path.includes(mediaId));
    expect(calls.map((r) => [r.method, r.path.replace(/^\/v\d+\.\d+/, '')])).toEqual([
      ['GET', `/${mediaId}`],
      ['GET', `/media-download/${mediaId}`],
    ]);
    expect(calls.every((r) => r.headers.authorization === 'Bearer test-graph-access-token')).toBe(
      true,
    );

    const res = await openAsOperator(row.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it('a document keeps its filename for the operator download', async () => {
    const bytes = fileOf(1000);
    const mediaId = h.graph!.addMedia(bytes, 'application/pdf');
    const row = await receive({
      type: 'document',
      mediaId,
      mimeType: 'application/pdf',
      filename: 'análisis.pdf',
    });
    const res = await openAsOperator(row.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent('análisis.pdf')}`,
    );
  });

  it('retries a transient Graph failure and then stores the file once', async () => {
    const bytes = fileOf(512);
    const mediaId = h.graph!.addMedia(bytes, 'audio/ogg');
    h.graph!.failNext({
      status: 500,
      code: 2,
      message: 'An unexpected error has occurred. Please retry your request later.',
      match: (r) => r.path.endsWith(`/${mediaId}`) && !r.path.startsWith('/media-download/'),
    });
    const row = await receive({
      type: 'audio',
      mediaId,
      mimeType: 'audio/ogg; codecs=opus',
      voice: true,
    });
    expect(row.attachments[0].data.download).toMatchObject({ status: 'stored', size: 512 });
    const calls = h.graph!.requests.filter((r) => r.path.endsWith(`/${mediaId}`));
    // The failed lookup, the retried lookup, one download.
    expect(calls.map((r) => r.path.startsWith('/media-download/'))).toEqual([false, false, true]);
  });

  it('too large for its kind: not downloaded, marked failed with the reason, not retried', async () => {
    const mediaId = h.graph!.addMedia(fileOf(5 * 1024 * 1024 + 1), 'image/jpeg');
    const row = await receive({ type: 'image', mediaId, mimeType: 'image/jpeg' });
    expect(row.attachments[0].storageKey).toBeUndefined();
    expect(row.attachments[0].data.download).toEqual({
      status: 'failed',
      reason: 'the image is 5242881 bytes; at most 5242880 are accepted',
    });
    expect(h.graph!.requests.filter((r) => r.path === `/media-download/${mediaId}`)).toHaveLength(
      0,
    );
    const res = await openAsOperator(row.id);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      '5242881 bytes',
    );
  });

  it('an unsupported type for its kind is refused the same way', async () => {
    const mediaId = h.graph!.addMedia(fileOf(100), 'image/png');
    const row = await receive({ type: 'sticker', mediaId, mimeType: 'image/png' });
    expect(row.attachments[0].data.download).toEqual({
      status: 'failed',
      reason: 'a sticker of type image/png is not supported',
    });
  });

  it('Messenger attachments are fetched from their CDN URL; a dead link is marked failed', async () => {
    const mid = randomMid();
    await postWebhook(
      h,
      messengerMessageBody({
        pageId: t.accounts.messenger.externalId,
        psid: scopedUserId(),
        mid,
        attachments: [
          { type: 'image', payload: { url: `${cdn.url}/photo.jpg` } },
          { type: 'file', payload: { url: `${cdn.url}/expired.pdf` } },
        ],
      }),
    );
    await h.settle();
    const [row] =
      await sql`select id, attachments from messages where provider_message_id = ${mid}`;
    expect(row!.attachments[0]).toMatchObject({
      storageKey: mediaStorageKey(t.tenantId, row!.id, 0),
      mimeType: 'image/jpeg',
    });
    expect(row!.attachments[1].data.download).toEqual({
      status: 'failed',
      reason: 'the attachment link no longer works (HTTP 404)',
    });
    const res = await openAsOperator(row!.id, 0);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(cdnFile);
  });

  it('streams a file larger than one part into R2 part by part: all of it, and its SHA-256', async () => {
    const mid = randomMid();
    await postWebhook(
      h,
      messengerMessageBody({
        pageId: t.accounts.messenger.externalId,
        psid: scopedUserId(),
        mid,
        attachments: [{ type: 'file', payload: { url: `${cdn.url}/big.pdf` } }],
      }),
    );
    await h.settle();
    const [row] =
      await sql`select id, attachments from messages where provider_message_id = ${mid}`;
    const expectedSha = createHash('sha256').update(bigFile).digest('hex');
    expect(row!.attachments[0].data.download).toEqual({
      status: 'stored',
      size: bigFile.byteLength,
      sha256: expectedSha,
    });
    const object = await r2.bucket.get(mediaStorageKey(t.tenantId, row!.id, 0));
    expect(object!.size).toBe(bigFile.byteLength);
    // A multipart object's etag ends in its part count: it went up in three parts, not in one
    // put of the whole file held in memory.
    expect(object!.etag).toMatch(/-3$/);
    expect(
      createHash('sha256')
        .update(new Uint8Array(await object!.arrayBuffer()))
        .digest('hex'),
    ).toBe(expectedSha);
  });

  it('stops a download that grows past the cap with no length announced, and keeps nothing', async () => {
    const mid = randomMid();
    await postWebhook(
      h,
      messengerMessageBody({
        pageId: t.accounts.messenger.externalId,
        psid: scopedUserId(),
        mid,
        attachments: [{ type: 'file', payload: { url: `${cdn.url}/too-big.bin` } }],
      }),
    );
    await h.settle();
    const [row] =
      await sql`select id, attachments from messages where provider_message_id = ${mid}`;
    expect(row!.attachments[0].data.download).toEqual({
      status: 'failed',
      reason: `the file is larger than the ${25 * 1024 * 1024} bytes accepted`,
    });
    expect(row!.attachments[0].storageKey).toBeUndefined();
    expect(await r2.bucket.head(mediaStorageKey(t.tenantId, row!.id, 0))).toBeNull();
  });

  it('answers 404 for an attachment index that does not exist', async () => {
    const mediaId = h.graph!.addMedia(fileOf(10), 'image/jpeg');
    const row = await receive({ type: 'image', mediaId, mimeType: 'image/jpeg' });
    expect((await openAsOperator(row.id, 3)).status).toBe(404);
  });
});
