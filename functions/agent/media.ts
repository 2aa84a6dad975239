import { generateText, transcribe } from 'ai';
import { type HistoryRow, type MediaNote, saveMediaNote } from '../../db/agent';
import { asTenant, type Database } from '../../db/client';
import type { Attachment } from '../../db/schema';
import type { Env } from '../env';
import type { Logger } from '../lib/logger';
import { safeErrorFields } from '../lib/logger';
import type { AgentModels } from './models';

/**
 * Voice notes and images, made readable before the turn: a voice note is transcribed (AI SDK
 * `transcribe`), an image described by the chat model (vision input). The result is stored once
 * per attachment (agent_media_notes) and reused by later turns. Nothing here can fail a turn: a
 * file still downloading, too large, unreadable or a model error becomes a bracketed marker the
 * agent sees ("[voice note could not be transcribed]") and can mention.
 */

const MB = 1024 * 1024;
/** Whisper takes up to 25 MB; WhatsApp voice notes are at most 16 MB. */
export const AUDIO_MAX_BYTES = 16 * MB;
/** WhatsApp's own image limit; larger images are not worth a vision call. */
export const IMAGE_MAX_BYTES = 5 * MB;
/** At most this many files are looked at per turn (the newest): a model call each. */
export const MEDIA_PER_TURN = 4;

/** The bytes of a downloaded attachment, or null when they are not (yet) stored. */
export type MediaLoader = (env: Env, attachment: Attachment) => Promise<Uint8Array | null>;

/** Production: the MEDIA R2 bucket the media-download job fills (functions/jobs/media-download.ts). */
export const r2MediaLoader: MediaLoader = async (env, attachment) => {
  if (!attachment.storageKey || !env.MEDIA) return null;
  const object = await env.MEDIA.get(attachment.storageKey);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
};

const DESCRIBE_PROMPT =
  'A customer sent this image to a business in a chat. Describe briefly and factually what it ' +
  'shows, in English, in at most two sentences, including any text it contains.';

type Kind = 'audio' | 'image';

const MARKERS = {
  audio: {
    pending: '[voice note: still being downloaded, not heard yet]',
    failedDownload: '[voice note could not be downloaded]',
    tooLarge: '[voice note too long to transcribe]',
    noModel: '[voice note: transcription is not available]',
    failed: '[voice note could not be transcribed]',
    ok: (text: string) => `[voice note, transcribed: "${text}"]`,
  },
  image: {
    pending: '[image: still being downloaded, not seen yet]',
    failedDownload: '[image could not be downloaded]',
    tooLarge: '[image too large to look at]',
    noModel: '[image: could not be looked at]',
    failed: '[image could not be described]',
    ok: (text: string) => `[image: ${text}]`,
  },
} as const;

function kindOf(attachment: Attachment): Kind | null {
  if (attachment.kind === 'audio') return 'audio';
  if (attachment.kind === 'image') return 'image';
  return null;
}

function downloadFailed(attachment: Attachment): boolean {
  const download = attachment.data?.download;
  return (
    typeof download === 'object' &&
    download !== null &&
    Reflect.get(download, 'status') === 'failed'
  );
}

function baseMediaType(mime: string | undefined, kind: Kind): string {
  const base = (mime ?? '').split(';')[0]?.trim().toLowerCase();
  return base || (kind === 'audio' ? 'audio/ogg' : 'image/jpeg');
}

/** Why transcription or vision failed, for the trace: the safe fields only (no customer data). */
function errorText(err: unknown): string {
  const { error, code, detail } = safeErrorFields(err);
  return `${error}${code ? ` ${code}` : ''}: ${detail}`.slice(0, 300);
}

/**
 * Whether a voice note or image the turn must answer is still being downloaded (the media job runs
 * in parallel with the debounce and usually wins; a large file on a slow day may not).
 */
export function awaitingDownload(rows: HistoryRow[]): boolean {
  const lastOurs = rows.findLastIndex((r) => r.direction === 'outbound' && r.type !== 'note');
  return rows
    .slice(lastOurs + 1)
    .some(
      (row) =>
        row.direction === 'inbound' &&
        row.attachments.some(
          (a) =>
            kindOf(a) !== null &&
            !a.storageKey &&
            !downloadFailed(a) &&
            Boolean(a.providerMediaId || a.url),
        ),
    );
}

type MediaInput = {
  rows: HistoryRow[];
  existing: Map<string, MediaNote>;
  models: AgentModels;
  loadMedia: MediaLoader;
  env: Env;
  db: Database;
  tenantId: string;
  logger: Logger;
  timeoutMs: number;
};

type MediaItem = { row: HistoryRow; index: number; attachment: Attachment; kind: Kind };

/** What the agent reads for one file, and whether it is worth keeping for later turns. */
type MediaText =
  | { keep: false; text: string }
  | {
      keep: true;
      kind: 'transcript' | 'description' | 'unavailable';
      text: string;
      error?: string;
      model?: string | null;
    };

/**
 * Returns, for each inbound voice note / image in `rows` (key `messageId:index`), the text the
 * agent reads. Results worth keeping are stored; transient states (still downloading, no model
 * configured) are not, so a later turn tries again.
 */
export async function prepareMedia(input: MediaInput): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const todo: MediaItem[] = [];
  for (const row of input.rows) {
    if (row.direction !== 'inbound') continue;
    row.attachments.forEach((attachment, index) => {
      const kind = kindOf(attachment);
      if (!kind) return;
      const note = input.existing.get(`${row.id}:${index}`);
      if (note) texts.set(`${row.id}:${index}`, note.text);
      else todo.push({ row, index, attachment, kind });
    });
  }
  // Newest first: those are what the customer is talking about now.
  for (const item of todo.reverse().slice(0, MEDIA_PER_TURN)) {
    const result = await mediaText(input, item);
    texts.set(`${item.row.id}:${item.index}`, result.text);
    if (result.keep) {
      await asTenant(input.db, input.tenantId, (ctx) =>
        saveMediaNote(ctx, {
          messageId: item.row.id,
          attachmentIndex: item.index,
          kind: result.kind,
          text: result.text,
          error: result.error,
          model: result.model,
        }),
      );
    }
  }
  return texts;
}

/** One file to text: a marker while it cannot be read yet, else the model's transcript or description. */
async function mediaText(input: MediaInput, item: MediaItem): Promise<MediaText> {
  const markers = MARKERS[item.kind];
  if (!item.attachment.storageKey) {
    return downloadFailed(item.attachment)
      ? { keep: true, kind: 'unavailable', text: markers.failedDownload }
      : { keep: false, text: markers.pending };
  }
  const available =
    item.kind === 'audio' ? input.models.transcription !== null : input.models.vision;
  if (!available) return { keep: false, text: markers.noModel };
  let bytes: Uint8Array | null;
  try {
    bytes = await input.loadMedia(input.env, item.attachment);
  } catch (err) {
    input.logger.warn('agent media: load failed', {
      messageId: item.row.id,
      error: errorText(err),
    });
    return { keep: false, text: markers.pending };
  }
  if (!bytes) return { keep: false, text: markers.pending };
  const max = item.kind === 'audio' ? AUDIO_MAX_BYTES : IMAGE_MAX_BYTES;
  if (bytes.byteLength > max) {
    const error = `${bytes.byteLength} bytes > ${max}`;
    return { keep: true, kind: 'unavailable', text: markers.tooLarge, error };
  }
  try {
    return item.kind === 'audio' && input.models.transcription
      ? await transcribed(input, input.models.transcription, bytes, markers)
      : await described(input, item, bytes, markers);
  } catch (err) {
    input.logger.warn('agent media: model failed', {
      messageId: item.row.id,
      kind: item.kind,
      error: errorText(err),
    });
    const error = errorText(err);
    return {
      keep: true,
      kind: 'unavailable',
      text: markers.failed,
      error,
      model: input.models.label,
    };
  }
}

/** A model's text for a file, or the "could not" marker when it came back empty. */
function modelText(
  text: string,
  kind: 'transcript' | 'description',
  markers: (typeof MARKERS)[Kind],
  model: string | null,
): MediaText {
  return text
    ? { keep: true, kind, text: markers.ok(text), model }
    : { keep: true, kind: 'unavailable', text: markers.failed, error: `empty ${kind}`, model };
}

async function transcribed(
  input: MediaInput,
  model: NonNullable<AgentModels['transcription']>,
  audio: Uint8Array,
  markers: (typeof MARKERS)[Kind],
): Promise<MediaText> {
  const result = await transcribe({
    model,
    audio,
    abortSignal: AbortSignal.timeout(input.timeoutMs),
    maxRetries: 1,
  });
  return modelText(result.text.trim(), 'transcript', markers, input.models.transcriptionLabel);
}

async function described(
  input: MediaInput,
  item: MediaItem,
  data: Uint8Array,
  markers: (typeof MARKERS)[Kind],
): Promise<MediaText> {
  const result = await generateText({
    model: input.models.chat,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: DESCRIBE_PROMPT },
          { type: 'file', mediaType: baseMediaType(item.attachment.mimeType, item.kind), data },
        ],
      },
    ],
    abortSignal: AbortSignal.timeout(input.timeoutMs),
    maxRetries: 1,
  });
  return modelText(result.text.trim(), 'description', markers, input.models.label);
}
