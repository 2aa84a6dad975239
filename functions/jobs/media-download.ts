import { createHash } from 'node:crypto';
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

/**
 * Size of each part of a multipart upload, and the most of a file held in memory at once. R2 wants
 * parts of at least 5 MiB (but the last) and of one size.
 */
export const UPLOAD_PART_BYTES = 8 * MB;

type StoredFile = { size: number; sha256: string };

/**
 * Streams a response body into R2, never holding more than one part (UPLOAD_PART_BYTES) of it: a
 * file that fits in one part is one `put`, a larger one a multipart upload, part by part as the
 * bytes arrive (a 100 MB document would otherwise near the Worker's 128 MB). The declared length
 * is checked before reading and the running count while reading: past `maxBytes` the download
 * stops, the upload is aborted and nothing is kept. The SHA-256 is computed on the way.
 */
async function streamIntoBucket(
  response: Response,
  target: { bucket: R2Bucket; key: string; maxBytes: number; options: R2PutOptions },
): Promise<StoredFile> {
  const { bucket, key, maxBytes, options } = target;
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new Permanent(`the file is ${declared} bytes; at most ${maxBytes} are accepted`);
  }
  const hash = createHash('sha256');
  const part = new Uint8Array(UPLOAD_PART_BYTES);
  let filled = 0;
  let total = 0;
  let upload: R2MultipartUpload | null = null;
  const uploaded: R2UploadedPart[] = [];
  const flush = async () => {
    upload ??= await bucket.createMultipartUpload(key, options);
    uploaded.push(await upload.uploadPart(uploaded.length + 1, part.slice(0, filled)));
    filled = 0;
  };
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const next = reader ? await reader.read() : { done: true as const, value: undefined };
      if (next.done) break;
      let chunk = next.value;
      total += chunk.byteLength;
      if (total > maxBytes) {
        await reader?.cancel();
        throw new Permanent(`the file is larger than the ${maxBytes} bytes accepted`);
      }
      hash.update(chunk);
      while (chunk.byteLength > 0) {
        const take = Math.min(chunk.byteLength, UPLOAD_PART_BYTES - filled);
        part.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === UPLOAD_PART_BYTES) await flush();
      }
    }
    if (upload) {
      if (filled > 0) await flush();
      await (upload as R2MultipartUpload).complete(uploaded);
    } else {
      await bucket.put(key, part.slice(0, filled), options);
    }
  } catch (err) {
    await (upload as R2MultipartUpload | null)?.abort().catch(() => {});
    throw err;
  }
  return { size: total, sha256: hash.digest('hex') };
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

/** A download under way: the response, not read yet, and what it may hold. */
type Opened = { file: Response; mimeType: string; maxBytes: number };

/**
 * WhatsApp: the media id → a URL that expires after 5 minutes → the bytes, both with the
 * account's bearer token. A stale URL (404) is fetched anew on the next attempt.
 */
async function openWhatsApp(env: Env, target: MediaDownloadTarget): Promise<Opened> {
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
  return {
    file,
    maxBytes: limit.maxBytes,
    mimeType: mimeType || baseType(file.headers.get('content-type')) || 'application/octet-stream',
  };
}

/** Messenger / Instagram attachments come as signed CDN URLs: no token, and they expire. */
async function openUrl(target: MediaDownloadTarget): Promise<Opened> {
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
  return {
    file,
    maxBytes: limit.maxBytes,
    mimeType:
      baseType(file.headers.get('content-type')) ||
      baseType(target.attachment.mimeType) ||
      'application/octet-stream',
  };
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
    const storageKey = mediaStorageKey(tenantId, messageId, index);
    let stored: StoredFile & { mimeType: string };
    try {
      const opened =
        target.channel === 'whatsapp' && target.attachment.providerMediaId
          ? await openWhatsApp(env, target)
          : await openUrl(target);
      const file = await streamIntoBucket(opened.file, {
        bucket,
        key: storageKey,
        maxBytes: opened.maxBytes,
        options: {
          httpMetadata: {
            contentType: opened.mimeType,
            ...(target.attachment.filename
              ? {
                  contentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(target.attachment.filename)}`,
                }
              : {}),
          },
          customMetadata: { tenantId, messageId, index: String(index) },
        },
      });
      stored = { ...file, mimeType: opened.mimeType };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof Permanent) return fail(reason);
      if (ctx.retried >= LAST_RETRY)
        return fail(`could not be downloaded after several attempts: ${reason}`);
      return { status: 'retry', detail: reason };
    }
    await asTenant(services.db, tenantId, (ctx) =>
      markAttachmentStored(ctx, messageId, index, { storageKey, ...stored }),
    );
    return { status: 'done', detail: `${stored.size} bytes stored` };
  },
});
