/**
 * YCloud webhook bodies for the adapter's tests: the documented examples of docs/providers.md
 * "YCloud" (inbound text, image, location, button reply, quick reply; statuses sent and failed),
 * and the other types built the same way (same envelope, Meta's object under the type's key).
 */

export const BUSINESS_NUMBER = '+447901614024';
export const WABA_ID = '102290129340398';
const CUSTOMER = '+8613800000000';
const QUOTED = 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC';

/** An inbound event as YCloud wraps it; `message` overrides and extends the documented text. */
export function inboundEvent<M extends Record<string, unknown>>(
  message: M,
  eventId = 'evt_eEkn26qar3nOB8md',
) {
  return {
    id: eventId,
    type: 'whatsapp.inbound_message.received',
    apiVersion: 'v2',
    createTime: '2023-02-22T12:00:00.000Z',
    whatsappInboundMessage: {
      id: '63f872f6741c165b4342a751',
      wamid: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQUFBQUFBQUFB',
      wabaId: WABA_ID,
      from: CUSTOMER,
      customerProfile: { name: 'Joe' },
      to: BUSINESS_NUMBER,
      sendTime: '2023-02-22T12:00:00.000Z',
      ...message,
    },
  };
}

/** docs/providers.md: text with context (https://docs.ycloud.com/reference/whatsapp-inbound-message-webhook-examples). */
export const inboundText = inboundEvent({
  type: 'text',
  text: { body: 'OK' },
  context: { from: '447901614024', id: QUOTED },
});

/** docs/providers.md: image (media object as in YCloud's echo example). */
export const inboundImage = {
  id: 'evt_imgExample000001',
  type: 'whatsapp.inbound_message.received',
  apiVersion: 'v2',
  createTime: '2023-02-22T12:01:00.000Z',
  whatsappInboundMessage: {
    id: '63f872f6741c165b4342a752',
    wamid: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQ0NDQ0ND',
    wabaId: WABA_ID,
    from: CUSTOMER,
    customerProfile: { name: 'Joe' },
    to: BUSINESS_NUMBER,
    sendTime: '2023-02-22T12:01:00.000Z',
    type: 'image',
    image: {
      link: 'https://api.ycloud.com/v2/whatsapp/media/download/592623615738103',
      id: '592623615738103',
      sha256: 'LeRpQJq/h4HTjmExample=',
      mime_type: 'image/jpeg',
      caption: 'my receipt',
    },
  },
};

const mediaObject = (id: string, mime: string) => ({
  link: `https://api.ycloud.com/v2/whatsapp/media/download/${id}`,
  id,
  sha256: 'c2hhMjU2RXhhbXBsZQ==',
  mime_type: mime,
});

export const inboundVideo = inboundEvent({
  type: 'video',
  video: { ...mediaObject('592623615738104', 'video/mp4'), caption: 'the leak' },
});
export const inboundAudio = inboundEvent({
  type: 'audio',
  audio: mediaObject('592623615738105', 'audio/ogg; codecs=opus'),
});
export const inboundDocument = inboundEvent({
  type: 'document',
  document: {
    ...mediaObject('592623615738106', 'application/pdf'),
    filename: 'invoice.pdf',
    caption: 'March',
  },
});
export const inboundSticker = inboundEvent({
  type: 'sticker',
  sticker: mediaObject('592623615738107', 'image/webp'),
});

/** docs/providers.md: location. */
export const inboundLocation = inboundEvent({
  type: 'location',
  location: { latitude: 51.5072, longitude: -0.1276, name: 'Office', address: '1 Main St' },
});

export const inboundContacts = inboundEvent({
  type: 'contacts',
  contacts: [
    {
      name: { formatted_name: 'Paula Diaz', first_name: 'Paula' },
      phones: [{ phone: '+34600000000', type: 'CELL', wa_id: '34600000000' }],
    },
  ],
});

/** docs/providers.md: interactive button reply. */
export const inboundButtonReply = inboundEvent({
  type: 'interactive',
  interactive: { type: 'button_reply', button_reply: { id: 'opt_yes', title: 'Yes' } },
  context: { from: '447901614024', id: QUOTED },
});

export const inboundListReply = inboundEvent({
  type: 'interactive',
  interactive: {
    type: 'list_reply',
    list_reply: { id: 'slot_9', title: '9:00', description: 'Tuesday morning' },
  },
});

/** docs/providers.md: template quick-reply button. */
export const inboundQuickReply = inboundEvent({
  type: 'button',
  button: { payload: 'confirm_appointment', text: 'Confirm' },
  context: { from: '447901614024', id: QUOTED },
});

/** Reaction: Meta's object; that YCloud relays inbound reactions like this is unconfirmed. */
export const inboundReaction = inboundEvent({
  type: 'reaction',
  reaction: { message_id: QUOTED, emoji: '👍' },
});

/** A user identified without a phone number (BSUID only). */
export const inboundBsuidOnly = inboundEvent({
  from: undefined,
  fromUserId: 'US.13491208655302741918',
  type: 'text',
  text: { body: 'hola' },
});

/** docs/providers.md: status `sent`. */
export const statusSent = {
  id: 'evt_sentExample00001',
  type: 'whatsapp.message.updated',
  apiVersion: 'v2',
  createTime: '2023-02-22T12:00:01.000Z',
  whatsappMessage: {
    id: '63f5d602367ea403f8175a6c',
    wamid: 'wamid.BgNODYxMzgwMDAwMDAwFQIAERgSMDQ4RjEx',
    wabaId: WABA_ID,
    from: BUSINESS_NUMBER,
    to: CUSTOMER,
    type: 'text',
    externalId: '0193b7a4-5d2e-7c3f-8a1b-2c3d4e5f6a7b',
    status: 'sent',
    createTime: '2023-02-22T12:00:00.000Z',
    updateTime: '2023-02-22T12:00:01.000Z',
    sendTime: '2023-02-22T12:00:01.000Z',
    totalPrice: 0.0,
    currency: 'USD',
    bizType: 'whatsapp',
  },
};

export const statusDelivered = {
  ...statusSent,
  id: 'evt_deliveredExample1',
  createTime: '2023-02-22T12:00:03.000Z',
  whatsappMessage: {
    ...statusSent.whatsappMessage,
    status: 'delivered',
    updateTime: '2023-02-22T12:00:03.000Z',
    deliverTime: '2023-02-22T12:00:02.000Z',
  },
};

export const statusRead = {
  ...statusSent,
  id: 'evt_readExample000001',
  createTime: '2023-02-22T12:05:00.000Z',
  whatsappMessage: {
    ...statusDelivered.whatsappMessage,
    status: 'read',
    updateTime: '2023-02-22T12:05:00.000Z',
    readTime: '2023-02-22T12:04:59.000Z',
  },
};

/** docs/providers.md: failed with Meta's pair rate limit (https://docs.ycloud.com/reference/whatsapp-errors). */
export const statusFailedPairRate = {
  id: 'evt_eEVCy8eNqD9EvcFI',
  type: 'whatsapp.message.updated',
  apiVersion: 'v2',
  createTime: '2023-02-22T12:00:00.000Z',
  whatsappMessage: {
    id: '63f5d602367ea403f8175a6c',
    wamid: 'wamid.BgNODYxMzgwMDAwMDAwFQIAERgSMDQ4RjEx',
    status: 'failed',
    errorCode: '131056',
    errorMessage: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
    whatsappApiError: {
      message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
      type: 'OAuthException',
      code: '131056',
      fbtrace_id: 'A4O5a8RAgePwbcGSu',
      error_data: {
        messaging_product: 'whatsapp',
        details:
          'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
      },
    },
  },
};

/** docs/providers.md: failed outside the 24-hour window (Meta 131047). */
export const statusFailedWindow = {
  id: 'evt_failedWindow0001',
  type: 'whatsapp.message.updated',
  apiVersion: 'v2',
  createTime: '2023-02-22T12:00:02.000Z',
  whatsappMessage: {
    id: '63f5d602367ea403f8175a6d',
    wamid: 'wamid.BgNODYxMzgwMDAwMDAwFQIAERgSMDQ4RjEy',
    from: BUSINESS_NUMBER,
    to: CUSTOMER,
    status: 'failed',
    errorCode: '131047',
    errorMessage: 'Re-engagement message',
  },
};

/** Failed with one of YCloud's own codes (errorCode is a YCloud code or Meta's, as a string). */
export const statusFailedBalance = {
  ...statusFailedWindow,
  id: 'evt_failedBalance001',
  whatsappMessage: {
    ...statusFailedWindow.whatsappMessage,
    errorCode: 'BALANCE_INSUFFICIENT',
    errorMessage: 'Insufficient balance',
    updateTime: '2023-02-22T12:00:02.000Z',
  },
};

/** Template review (payload key `whatsappTemplate` is unconfirmed). */
export const templateReviewed = {
  id: 'evt_tplReviewed00001',
  type: 'whatsapp.template.reviewed',
  apiVersion: 'v2',
  createTime: '2023-02-22T13:00:00.000Z',
  whatsappTemplate: {
    wabaId: WABA_ID,
    name: 'appointment_reminder',
    language: 'es',
    status: 'APPROVED',
  },
};

/**
 * What the business sent from the WhatsApp Business app (coexistence), shape of
 * https://docs.ycloud.com/en/api-reference/webhook-reference/whatsapp-smb-message-echoes.md
 */
export function echoEvent<M extends Record<string, unknown>>(message: M) {
  return {
    id: 'evt_echoExample00001',
    type: 'whatsapp.smb.message.echoes',
    apiVersion: 'v2',
    createTime: '2023-02-22T12:10:01.000Z',
    whatsappMessage: {
      id: '63f5d602367ea403f8175a70',
      wamid: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSRUNITzAx',
      wabaId: WABA_ID,
      from: BUSINESS_NUMBER,
      to: CUSTOMER,
      status: 'sent',
      createTime: '2023-02-22T12:10:00.000Z',
      sendTime: '2023-02-22T12:10:00.000Z',
      ...message,
    },
  };
}

export const echoText = echoEvent({ type: 'text', text: { body: 'See you at 9' } });
