import { z } from 'zod';

/**
 * The outbound message kinds, one zod schema each, with Meta's limits (meta-platform reference
 * §4) checked here, before anything is queued: breaking a limit is a 400 that names it, never a
 * Graph error later. The same schemas serve the operator API, the send job (which re-parses what
 * it loads) and the AI agent's tools, per channel: `messageSchemaFor(channel)`.
 *
 * Field names are snake_case because these objects travel in the operator API as they are.
 */

/** `web`: the chat widget on the business's own site (no Meta in between). */
export type MessageChannel = 'whatsapp' | 'messenger' | 'instagram' | 'web';

/** Meta counts characters (code points), not UTF-16 units: an emoji is one. */
export const charCount = (value: string) => [...value].length;
const byteCount = (value: string) => new TextEncoder().encode(value).length;

/** A required text with Meta's character limit, the limit named in the error. */
function limited(what: string, max: number) {
  return z.string().superRefine((value, ctx) => {
    const n = charCount(value);
    if (value.trim() === '') ctx.addIssue({ code: 'custom', message: `${what} must not be empty` });
    else if (n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} is limited to ${max} characters (got ${n})`,
      });
    }
  });
}

/** Instagram counts its text limit in UTF-8 bytes. */
function limitedBytes(what: string, max: number) {
  return z.string().superRefine((value, ctx) => {
    const n = byteCount(value);
    if (value.trim() === '') ctx.addIssue({ code: 'custom', message: `${what} must not be empty` });
    else if (n > max) {
      ctx.addIssue({ code: 'custom', message: `${what} is limited to ${max} bytes (got ${n})` });
    }
  });
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Media is sent by a provider media id or by a public link: exactly one of them. */
const mediaSource = {
  id: z.string().min(1).optional(),
  link: httpUrl.optional(),
};
const exactlyOneSource = (value: { id?: string; link?: string }) =>
  (value.id === undefined) !== (value.link === undefined);
const sourceError = { message: 'give exactly one of id or link' };

// ---------------------------------------------------------------------------------------------
// WhatsApp
// ---------------------------------------------------------------------------------------------

export const WHATSAPP_TEXT_MAX = 4096;
export const CAPTION_MAX = 1024;

const whatsappText = z.strictObject({
  type: z.literal('text'),
  text: limited('Text', WHATSAPP_TEXT_MAX),
  preview_url: z.boolean().optional(),
});

const captioned = (kind: 'image' | 'video') =>
  z
    .strictObject({
      type: z.literal(kind),
      ...mediaSource,
      caption: limited('Caption', CAPTION_MAX).optional(),
    })
    .refine(exactlyOneSource, sourceError);

const whatsappDocument = z
  .strictObject({
    type: z.literal('document'),
    ...mediaSource,
    caption: limited('Caption', CAPTION_MAX).optional(),
    filename: limited('Filename', 240).optional(),
  })
  .refine(exactlyOneSource, sourceError);

/** Audio and stickers take no caption on WhatsApp. */
const uncaptioned = (kind: 'audio' | 'sticker') =>
  z
    .strictObject({
      type: z.literal(kind),
      ...mediaSource,
      caption: z
        .never({ error: `WhatsApp ${kind} messages have no caption; send the text separately` })
        .optional(),
    })
    .refine(exactlyOneSource, sourceError);

const mediaHeader = z
  .strictObject({ type: z.enum(['image', 'video', 'document']), ...mediaSource })
  .refine(exactlyOneSource, sourceError);

const replyButton = z.strictObject({
  id: limited('Button id', 256),
  title: limited('Button title', 20),
});

function noDuplicates(
  values: string[],
  what: string,
  path: (string | number)[],
  ctx: z.RefinementCtx,
) {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `${what} must be unique ("${value}" repeats)`,
      });
      return;
    }
    seen.add(value);
  }
}

/** A refinement: no two `list` items share their `field` (`what` names them in the error). */
function uniqueIn<L extends string, F extends string>(list: L, field: F, what: string) {
  return (value: Record<L, Array<Record<F, string>>>, ctx: z.RefinementCtx) =>
    noDuplicates(
      value[list].map((item) => item[field]),
      what,
      [list],
      ctx,
    );
}

export const REPLY_BUTTONS_MAX = 3;

const whatsappButtons = z
  .strictObject({
    type: z.literal('buttons'),
    body: limited('Button message body', 1024),
    header: z
      .union([
        z.strictObject({ type: z.literal('text'), text: limited('Header', 60) }),
        mediaHeader,
      ])
      .optional(),
    footer: limited('Footer', 60).optional(),
    buttons: z
      .array(replyButton)
      .min(1, 'at least one button is needed')
      .max(REPLY_BUTTONS_MAX, 'at most 3 reply buttons are allowed; use a list for more options'),
  })
  .superRefine(uniqueIn('buttons', 'id', 'Button ids'))
  .superRefine(uniqueIn('buttons', 'title', 'Button titles'));

export const LIST_ROWS_MAX = 10;

const listRow = z.strictObject({
  id: limited('Row id', 200),
  title: limited('Row title', 24),
  description: limited('Row description', 72).optional(),
});

const whatsappList = z
  .strictObject({
    type: z.literal('list'),
    body: limited('List body', 4096),
    header: limited('List header', 60).optional(),
    footer: limited('Footer', 60).optional(),
    button: limited('List button label', 20),
    sections: z
      .array(
        z.strictObject({
          title: limited('Section title', 24).optional(),
          rows: z.array(listRow).min(1, 'a section needs at least one row'),
        }),
      )
      .min(1, 'at least one section is needed')
      .max(10, 'at most 10 sections are allowed'),
  })
  .superRefine((value, ctx) => {
    const rows = value.sections.flatMap((s) => s.rows);
    if (rows.length > LIST_ROWS_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['sections'],
        message: `a list message allows at most ${LIST_ROWS_MAX} rows in total (got ${rows.length})`,
      });
    }
    noDuplicates(
      rows.map((r) => r.id),
      'Row ids',
      ['sections'],
      ctx,
    );
    if (value.sections.length > 1) {
      value.sections.forEach((section, i) => {
        if (section.title === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['sections', i, 'title'],
            message: 'every section needs a title when there is more than one section',
          });
        }
      });
    }
  });

const mediaRef = z.strictObject(mediaSource).refine(exactlyOneSource, sourceError);

/** Template parameters as Graph takes them (`components[].parameters[]`). */
export const templateParameter = z.union([
  z.strictObject({
    type: z.literal('text'),
    text: z.string(),
    parameter_name: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('image'), image: mediaRef }),
  z.strictObject({ type: z.literal('video'), video: mediaRef }),
  z.strictObject({ type: z.literal('document'), document: mediaRef }),
]);

export const templateComponent = z.union([
  z.strictObject({
    type: z.enum(['header', 'body']),
    parameters: z.array(templateParameter).min(1),
  }),
  z.strictObject({
    type: z.literal('button'),
    sub_type: z.enum(['quick_reply', 'url']),
    index: z.number().int().min(0).max(9),
    parameters: z
      .array(
        z.union([
          z.strictObject({ type: z.literal('payload'), payload: z.string().min(1).max(1000) }),
          z.strictObject({ type: z.literal('text'), text: z.string().min(1) }),
        ]),
      )
      .min(1),
  }),
]);
export type TemplateComponentParams = z.infer<typeof templateComponent>;

const whatsappTemplate = z.strictObject({
  type: z.literal('template'),
  /** Our templates.id, when the template came from the synced list (the consent check reads it). */
  template_id: z.uuid().optional(),
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(16),
  components: z.array(templateComponent).optional(),
});

const whatsappReaction = z.strictObject({
  type: z.literal('reaction'),
  /** Our id of the message reacted to (it must have a provider id). */
  message_id: z.uuid(),
  /** One emoji; an empty string removes the reaction. */
  emoji: z.string().max(16, 'a reaction is a single emoji'),
});

export const whatsappMessage = z.discriminatedUnion('type', [
  whatsappText,
  captioned('image'),
  captioned('video'),
  uncaptioned('audio'),
  whatsappDocument,
  uncaptioned('sticker'),
  whatsappButtons,
  whatsappList,
  whatsappTemplate,
  whatsappReaction,
]);
export type WhatsAppMessage = z.infer<typeof whatsappMessage>;

// ---------------------------------------------------------------------------------------------
// Messenger and Instagram
// ---------------------------------------------------------------------------------------------

export const QUICK_REPLIES_MAX = 13;

function messagingKinds(channel: 'messenger' | 'instagram') {
  const what = channel === 'messenger' ? 'Messenger text' : 'Instagram text';
  // Messenger caps text at 2,000 characters; Instagram at 1,000 bytes of UTF-8.
  const text = () => (channel === 'messenger' ? limited(what, 2000) : limitedBytes(what, 1000));
  const quickReply = z.strictObject({
    title: limited('Quick reply title', 20),
    payload: limited('Quick reply payload', 1000),
  });
  const attachment = (kind: 'image' | 'video' | 'audio' | 'document') =>
    z
      .strictObject({
        type: z.literal(kind),
        ...mediaSource,
        caption: z
          .never({
            error: `${channel === 'messenger' ? 'Messenger' : 'Instagram'} attachments have no caption; send the text separately`,
          })
          .optional(),
      })
      .refine(exactlyOneSource, sourceError);
  return [
    z.strictObject({ type: z.literal('text'), text: text() }),
    z
      .strictObject({
        type: z.literal('quick_replies'),
        text: text(),
        quick_replies: z
          .array(quickReply)
          .min(1, 'at least one quick reply is needed')
          .max(QUICK_REPLIES_MAX, `at most ${QUICK_REPLIES_MAX} quick replies are allowed`),
      })
      .superRefine(uniqueIn('quick_replies', 'title', 'Quick reply titles')),
    // Reply buttons travel as quick replies here, so the agent can offer options on any channel.
    z
      .strictObject({
        type: z.literal('buttons'),
        body: text(),
        buttons: z
          .array(
            z.strictObject({ id: limited('Button id', 1000), title: limited('Button title', 20) }),
          )
          .min(1, 'at least one button is needed')
          .max(REPLY_BUTTONS_MAX, 'at most 3 buttons are allowed'),
      })
      .superRefine(uniqueIn('buttons', 'title', 'Button titles')),
    attachment('image'),
    attachment('video'),
    attachment('audio'),
    attachment('document'),
  ] as const;
}

export const messengerMessage = z.discriminatedUnion('type', messagingKinds('messenger'));
export const instagramMessage = z.discriminatedUnion('type', messagingKinds('instagram'));
export type MessagingMessage = z.infer<typeof messengerMessage>;

// ---------------------------------------------------------------------------------------------
// Web chat widget
// ---------------------------------------------------------------------------------------------

export const WEB_TEXT_MAX = 4096;

/**
 * What the widget shows: text, and options as buttons (reply buttons and quick replies alike are
 * tapped, and the tap comes back as the visitor's message). No attachments yet.
 */
export const webMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: limited('Text', WEB_TEXT_MAX) }),
  z
    .strictObject({
      type: z.literal('quick_replies'),
      text: limited('Text', WEB_TEXT_MAX),
      quick_replies: z
        .array(
          z.strictObject({
            title: limited('Quick reply title', 20),
            payload: limited('Quick reply payload', 1000),
          }),
        )
        .min(1, 'at least one quick reply is needed')
        .max(QUICK_REPLIES_MAX, `at most ${QUICK_REPLIES_MAX} quick replies are allowed`),
    })
    .superRefine(uniqueIn('quick_replies', 'title', 'Quick reply titles')),
  z
    .strictObject({
      type: z.literal('buttons'),
      body: limited('Text', WEB_TEXT_MAX),
      buttons: z
        .array(
          z.strictObject({ id: limited('Button id', 1000), title: limited('Button title', 20) }),
        )
        .min(1, 'at least one button is needed')
        .max(REPLY_BUTTONS_MAX, 'at most 3 buttons are allowed'),
    })
    .superRefine(uniqueIn('buttons', 'title', 'Button titles')),
]);
export type WebMessage = z.infer<typeof webMessage>;

/** Every kind any channel accepts, as stored in messages.payload.message. */
export type OutboundMessage = WhatsAppMessage | MessagingMessage;
export type OutboundKind = OutboundMessage['type'];

export const KINDS_BY_CHANNEL: Record<MessageChannel, readonly OutboundKind[]> = {
  whatsapp: [
    'text',
    'image',
    'video',
    'audio',
    'document',
    'sticker',
    'buttons',
    'list',
    'template',
    'reaction',
  ],
  messenger: ['text', 'quick_replies', 'buttons', 'image', 'video', 'audio', 'document'],
  instagram: ['text', 'quick_replies', 'buttons', 'image', 'video', 'audio', 'document'],
  web: ['text', 'quick_replies', 'buttons'],
};

const SCHEMAS = {
  whatsapp: whatsappMessage,
  messenger: messengerMessage,
  instagram: instagramMessage,
  web: webMessage,
} as const;

/** The schema of what may be sent on a channel: the AI agent's tools use it as their input schema. */
export function messageSchemaFor(channel: MessageChannel) {
  return SCHEMAS[channel];
}

/** Text given as a bare string is a text message. */
export const messageInput = z.union([z.string(), z.object({ type: z.string() }).loose()]);

export type ParsedMessage = { ok: true; message: OutboundMessage } | { ok: false; error: string };

/**
 * Validates a message for a channel. The error names the field and the limit, prefixed with
 * `message` as the operator API's body has it, and says which channels support a kind a channel
 * does not.
 */
export function parseOutboundMessage(channel: MessageChannel, input: unknown): ParsedMessage {
  const candidate = typeof input === 'string' ? { type: 'text', text: input } : input;
  const type =
    typeof candidate === 'object' && candidate !== null && 'type' in candidate
      ? String((candidate as { type: unknown }).type)
      : undefined;
  if (type !== undefined && !KINDS_BY_CHANNEL[channel].includes(type as OutboundKind)) {
    const elsewhere = (Object.keys(KINDS_BY_CHANNEL) as MessageChannel[]).filter((c) =>
      KINDS_BY_CHANNEL[c].includes(type as OutboundKind),
    );
    return {
      ok: false,
      error:
        elsewhere.length > 0
          ? `message.type: ${type} messages are not supported on ${channel} (only on ${elsewhere.join(', ')})`
          : `message.type: unknown message type "${type}"; ${channel} supports ${KINDS_BY_CHANNEL[channel].join(', ')}`,
    };
  }
  const parsed = SCHEMAS[channel].safeParse(candidate);
  if (parsed.success) return { ok: true, message: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues
      .map((i) => `${['message', ...i.path].join('.')}: ${i.message}`)
      .join('; '),
  };
}

/** A short text for the inbox list and messages.content. */
export function previewOf(message: OutboundMessage): string {
  switch (message.type) {
    case 'text':
      return message.text;
    case 'quick_replies':
      return message.text;
    case 'buttons':
    case 'list':
      return message.body;
    case 'template':
      return `[template ${message.name}]`;
    case 'reaction':
      return message.emoji;
    default:
      return 'caption' in message && typeof message.caption === 'string'
        ? message.caption
        : `[${message.type}]`;
  }
}
