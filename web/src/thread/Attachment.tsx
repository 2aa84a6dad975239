import { useEffect, useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { language, t } from '../i18n/i18n';
import { type Message, threadError } from './messages';

type Attachment = Message['attachments'][number];
type Where = { messageId: string; index: number };

/** One attachment of a message, shown the way its kind is read: played, pictured or linked. */
export function AttachmentView({ attachment: a, ...where }: { attachment: Attachment } & Where) {
  if (a.kind === 'location') return <Location data={a.data} />;
  if (a.kind === 'contacts') return <ContactCards data={a.data} />;
  if (!a.url) {
    // Not downloaded (yet): say so in words, the API's reason when it failed.
    const state =
      a.download.status === 'failed'
        ? t('fileFailed', { reason: a.download.reason ?? '' })
        : a.download.status === 'pending'
          ? t('filePending')
          : t('fileNone');
    return <span class="meta">{`📎 ${fileName(a)} · ${state}`}</span>;
  }
  const link = <FileLink attachment={a} {...where} />;
  if (a.kind === 'image' || a.kind === 'sticker') {
    return (
      <>
        <MediaElement
          kind={a.kind}
          {...where}
          label={a.caption ?? a.filename ?? t(a.kind === 'image' ? 'image' : 'sticker')}
        />
        {a.kind === 'image' && link}
      </>
    );
  }
  if (a.kind === 'audio' || a.kind === 'video') {
    const voice = a.kind === 'audio' && a.data?.voice === true;
    return (
      <>
        <MediaElement
          kind={a.kind}
          {...where}
          label={t(voice ? 'voiceNote' : a.kind === 'audio' ? 'audio' : 'video')}
        />
        {link}
      </>
    );
  }
  return link;
}

/**
 * The file's bytes as an object URL (freed when the element goes). The file needs the operator's
 * token and business, so it is fetched through the API client: a bare `src` would carry neither.
 */
function useMediaUrl({ messageId, index }: Where): string | null {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    call(() =>
      api.GET('/admin/media/{message_id}/{index}', {
        params: { path: { message_id: messageId, index: String(index) } },
        parseAs: 'blob',
      }),
    )
      .then((blob) => {
        if (!live) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      })
      // Without a preview the file's link still opens it (and says why it cannot).
      .catch(() => {});
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [messageId, index]);
  return src;
}

function MediaElement(props: Where & { kind: string; label: string }) {
  const src = useMediaUrl(props);
  if (!src) return null;
  if (props.kind === 'audio') {
    return (
      // biome-ignore lint/a11y/useMediaCaption: a customer's voice note has no captions to give
      <audio class="player" controls preload="metadata" src={src} aria-label={props.label} />
    );
  }
  if (props.kind === 'video') {
    return (
      // biome-ignore lint/a11y/useMediaCaption: a customer's video has no captions to give
      <video class="player" controls preload="metadata" src={src} aria-label={props.label} />
    );
  }
  return <img class={`preview-image ${props.kind}`} src={src} alt={props.label} />;
}

function fileName(a: Attachment): string {
  return a.filename ?? t(KIND_WORDS[a.kind] ?? 'file');
}

const KIND_WORDS: Record<string, Parameters<typeof t>[0]> = {
  image: 'image',
  sticker: 'sticker',
  audio: 'audio',
  video: 'video',
  document: 'file',
  file: 'file',
};

/** A size in the page's language: "512 byte", "48 kB", "1.2 MB". */
function sizeText(bytes: number): string {
  const [value, unit] =
    bytes >= 1_000_000
      ? [bytes / 1_000_000, 'megabyte']
      : bytes >= 1000
        ? [bytes / 1000, 'kilobyte']
        : [bytes, 'byte'];
  return new Intl.NumberFormat(language.value, {
    style: 'unit',
    unit,
    maximumFractionDigits: value < 10 ? 1 : 0,
  }).format(value);
}

function FileLink({ attachment: a, messageId, index }: { attachment: Attachment } & Where) {
  const size = a.download.size;
  return (
    <a
      class="file-link"
      href={a.url ?? undefined}
      onClick={(e) => {
        e.preventDefault();
        void openAttachment(messageId, index);
      }}
    >
      <span aria-hidden="true">📎 </span>
      <bdi>{fileName(a)}</bdi>
      {size !== null && <span class="muted">{` (${sizeText(size)})`}</span>}
    </a>
  );
}

/** A customer's file, fetched with the operator's token and business, opened in a new tab. */
async function openAttachment(messageId: string, index: number) {
  try {
    const blob = await call(() =>
      api.GET('/admin/media/{message_id}/{index}', {
        params: { path: { message_id: messageId, index: String(index) } },
        parseAs: 'blob',
      }),
    );
    window.open(URL.createObjectURL(blob), '_blank');
  } catch (error) {
    threadError.value = t('fileNotOpened', { reason: (error as Error).message });
  }
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value : null);

/** A shared place: its name and address, linked to a map at its coordinates. */
function Location({ data }: { data: Attachment['data'] }) {
  const lat = Number(data?.latitude);
  const lon = Number(data?.longitude);
  const label = [text(data?.name), text(data?.address)].filter(Boolean).join(', ');
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const map = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
  return (
    <a class="location" href={map} target="_blank" rel="noopener noreferrer">
      <bdi>{label || `${lat}, ${lon}`}</bdi>
      <span class="muted">{` · ${t('openMap')}`}</span>
    </a>
  );
}

/** Shared contact cards: each one's name and phone numbers. */
function ContactCards({ data }: { data: Attachment['data'] }) {
  const cards = Array.isArray(data?.contacts) ? (data.contacts as Record<string, unknown>[]) : [];
  return (
    <ul class="contact-cards" aria-label={t('contactCard')}>
      {cards.map((card, i) => {
        const name = text((card.name as Record<string, unknown> | undefined)?.formatted_name);
        const phones = Array.isArray(card.phones) ? (card.phones as Record<string, unknown>[]) : [];
        return (
          <li key={i}>
            <bdi>{name ?? t('contactCard')}</bdi>
            {phones.map((p, j) =>
              text(p.phone) ? (
                <span key={j} class="phone" dir="ltr">
                  {p.phone as string}
                </span>
              ) : null,
            )}
          </li>
        );
      })}
    </ul>
  );
}
