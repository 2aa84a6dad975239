import { z } from 'zod';
import { asTenant } from '../../db/client';
import {
  loadMediaDownloadTarget,
  type MediaDownloadTarget,
  markAttachmentFailed,
  markAttachmentStored,
} from '../../db/media';
import type { Env } from '../env';
import { decryptSecret } from '../lib/crypto';
import { defineJob, type JobContext, type JobOutcome } from './define';

export const MEDIA_DOWNLOAD_JOB = 'media-download';

/** QStash gets 5 retries from publishJobs: after the last, the failure is shown, not hidden. */
const LAST_RETRY = 5;

const MB = 1024 * 1024;

/**
 * What we accept per kind (meta-platform reference §6). WhatsApp's caps are Meta's own; Messenger
 * and Instagram allow 25 MB for any attachment. Documents may be of any type a customer sends.
 */
const limits: Record<string, { maxBytes: number; mime: RegExp }> = {
  image: { maxBytes: 5 * MB, mime: /^image\// },
  audio: { maxBytes: 16 * MB, mime: /^audio\// },
  video: { maxBytes: 16 * MB, mime: /^video\// },
  sticker: { maxBytes: 500 * 1024, mime: /^image\/webp$/ },
  document: { maxBytes: 100 * MB, mime: /./ },
  file: { maxBytes: 25 * MB, mime: /./ },
};
const MESSAGING_MAX_BYTES = 25 * MB;

class Permanent extends Error {}
class Transient extends Error {}

function limitFor(target: MediaDownloadTarget): { maxBytes: number; mime: RegExp } {
  const base = limits[target.attachment.kind] ?? { maxBytes: 25 * MB, mime: /./ };
  return target.channel === 'whatsapp'
    ? base
    : { maxBytes: Math.min(base.maxBytes, MESSAGING_MAX_BYTES), mime: /./ };
}

function baseType(mime: string | null | undefined): string {
  return (mime ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Reads a response body up to `maxBytes`, refusing (without reading on) anything larger. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new Permanent(`the file is ${declared} bytes; at most ${maxBytes} are accepted`);
  }
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Permanent(`the file is larger than the ${maxBytes} bytes accepted`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

async function fetchOrTransient(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new Transient(
      `could not reach ${new URL(url).host}: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/** Graph error bodies: `{ error: { message, code } }`. */
async function graphError(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const error = (JSON.parse(text) as { error?: { message?: string; code?: number } }).error;
    if (error)
      return `Graph ${response.status} (code ${error.code ?? '?'}): ${error.message ?? ''}`;
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`;
}

type Downloaded = { bytes: Uint8Array; mimeType: string };

/**
 * WhatsApp: the media id → a URL that expires after 5 minutes → the bytes, both with the
 * account's bearer token. A stale URL (404) is fetched anew on the next attempt.
 */
async function downloadWhatsApp(env: Env, target: MediaDownloadTarget): Promise<Downloaded> {
  const mediaId = target.attachment.providerMediaId;
  if (!mediaId) throw new Permanent('the attachment has no media id');
  if (!target.sealedAccessToken) throw new Transient('the account has no Graph access token');
  const token = await decryptSecret(target.sealedAccessToken, env.CREDENTIALS_ENCRYPTION_KEY);
  const headers = { authorization: `Bearer ${token}`, 'user-agent': 'switchboard-media/1' };
  const limit = limitFor(target);
  const metaUrl = `${env.GRAPH_API_BASE_URL.replace(/\/$/, '')}/${env.GRAPH_API_VERSION}/${encodeURIComponent(mediaId)}?phone_number_id=${encodeURIComponent(target.accountExternalId)}`;
  const meta = await fetchOrTransient(metaUrl, { headers });
  if (!meta.ok) {
    const detail = await graphError(meta);
    // 400/404: the id is unknown or expired (webhook media lives 7 days): it will not come back.
    if (meta.status === 400 || meta.status === 404)
      throw new Permanent(`media lookup failed: ${detail}`);
    throw new Transient(`media lookup failed: ${detail}`);
  }
  const info = z
    .object({
      url: z.string().min(1),
      mime_type: z.string().optional(),
      file_size: z.coerce.number().optional(),
    })
    .safeParse(await meta.json().catch(() => null));
  if (!info.success) throw new Transient('media lookup answered without a download URL');
  const mimeType = baseType(info.data.mime_type ?? target.attachment.mimeType);
  if (info.data.file_size !== undefined && info.data.file_size > limit.maxBytes) {
    throw new Permanent(
      `the ${target.attachment.kind} is ${info.data.file_size} bytes; at most ${limit.maxBytes} are accepted`,
    );
  }
  if (mimeType && !limit.mime.test(mimeType)) {
    throw new Permanent(`a ${target.attachment.kind} of type ${mimeType} is not supported`);
  }
  const file = await fetchOrTransient(info.data.url, { headers });
  if (!file.ok) {
    await file.body?.cancel();
    throw new Transient(`download answered HTTP ${file.status}`);
  }
  const bytes = await readCapped(file, limit.maxBytes);
  return {
    bytes,
    mimeType: mimeType || baseType(file.headers.get('content-type')) || 'application/octet-stream',
  };
}

/** Messenger / Instagram attachments come as signed CDN URLs: no token, and they expire. */
async function downloadUrl(target: MediaDownloadTarget): Promise<Downloaded> {
  const url = target.attachment.url;
  if (!url || !/^https?:\/\//.test(url)) throw new Permanent('the attachment has no download URL');
  const limit = limitFor(target);
  const file = await fetchOrTransient(url, { headers: { 'user-agent': 'switchboard-media/1' } });
  if (!file.ok) {
    await file.body?.cancel();
    if ([403, 404, 410].includes(file.status)) {
      throw new Permanent(`the attachment link no longer works (HTTP ${file.status})`);
    }
    throw new Transient(`download answered HTTP ${file.status}`);
  }
  const bytes = await readCapped(file, limit.maxBytes);
  return {
    bytes,
    mimeType:
      baseType(file.headers.get('content-type')) ||
      baseType(target.attachment.mimeType) ||
      'application/octet-stream',
  };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Where a file lives in the MEDIA bucket: tenant first, so a tenant's files can be listed or purged. */
export function mediaStorageKey(tenantId: string, messageId: string, index: number): string {
  return `tenants/${tenantId}/messages/${messageId}/${index}`;
}

/**
 * `media-download`: fetches one attachment of a stored message into the MEDIA bucket (R2) and
 * records where it is. Idempotent: a stored attachment is not fetched again. Transient failures
 * are retried by QStash; a file that can never be kept (too large, unsupported, gone) is marked
 * failed with the reason the operator sees.
 */
export const mediaDownloadJob = defineJob({
  kind: MEDIA_DOWNLOAD_JOB,
  payload: z.object({ messageId: z.uuid(), index: z.number().int().min(0).max(50) }),
  async handle(ctx: JobContext, { messageId, index }): Promise<JobOutcome> {
    const { services, env, tenantId } = ctx;
    const target = await asTenant(services.db, tenantId, (ctx) =>
      loadMediaDownloadTarget(ctx, messageId, index),
    );
    if (!target) return { status: 'done', detail: 'the message or attachment no longer exists' };
    if (target.attachment.storageKey) return { status: 'done', detail: 'already stored' };
    const bucket = env.MEDIA;
    if (!bucket) return { status: 'retry', detail: 'the MEDIA bucket is not bound' };
    const fail = async (reason: string): Promise<JobOutcome> => {
      await asTenant(services.db, tenantId, (ctx) =>
        markAttachmentFailed(ctx, messageId, index, reason),
      );
      return { status: 'dead', detail: reason };
    };
    let file: Downloaded;
    try {
      file =
        target.channel === 'whatsapp' && target.attachment.providerMediaId
          ? await downloadWhatsApp(env, target)
          : await downloadUrl(target);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof Permanent) return fail(reason);
      if (ctx.retried >= LAST_RETRY)
        return fail(`could not be downloaded after several attempts: ${reason}`);
      return { status: 'retry', detail: reason };
    }
    const storageKey = mediaStorageKey(tenantId, messageId, index);
    const sha256 = await sha256Hex(file.bytes);
    await bucket.put(storageKey, file.bytes, {
      httpMetadata: {
        contentType: file.mimeType,
        ...(target.attachment.filename
          ? {
              contentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(target.attachment.filename)}`,
            }
          : {}),
      },
      customMetadata: { tenantId, messageId, index: String(index), sha256 },
    });
    await asTenant(services.db, tenantId, (ctx) =>
      markAttachmentStored(ctx, messageId, index, {
        storageKey,
        size: file.bytes.byteLength,
        mimeType: file.mimeType,
        sha256,
      }),
    );
    return { status: 'done', detail: `${file.bytes.byteLength} bytes stored` };
  },
});
