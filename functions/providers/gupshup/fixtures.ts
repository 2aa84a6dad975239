/**
 * Gupshup's v2 callbacks as documented (docs/providers.md "Example fixtures"), with the docs'
 * masked digits (`918x98xx21x4`) filled in so the numbers look like real traffic. Inbound ones are
 * for the app `DemoApp`, status ones for `DemoAPI`, as in the docs.
 */

export const CUSTOMER = '918098702134';
export const SENDER = { phone: CUSTOMER, name: 'SJ', country_code: '91', dial_code: '8098702134' };

const inbound = <P extends Record<string, unknown>>(timestamp: number, payload: P) => ({
  app: 'DemoApp',
  timestamp,
  version: 2,
  type: 'message',
  payload: { source: CUSTOMER, sender: SENDER, ...payload },
});

export const inboundFixtures = {
  text: inbound(1718007189549, {
    id: 'ABEGkZUTIXZ0Ago6jWqOZm-Sz0WD',
    type: 'text',
    payload: { text: 'Hi' },
  }),
  textReply: inbound(1590854464792, {
    id: 'ABEGkYaYVSEEAgo-sMx1DoUoQJRW',
    type: 'text',
    payload: { text: 'hi' },
    sender: { ...SENDER, name: 'Jacob' },
    context: { id: 'gBEGkYaYVSEEAgnPFrOLcjkFjL8', gsId: '9b71295f-f7af-4c1f-b2b4-31b4a4867bad' },
  }),
  image: inbound(1718003620228, {
    id: 'ABEGkZUTIXZ0Ago69N5XB9zTUbl-',
    type: 'image',
    payload: {
      caption: 'Sample image',
      url: 'https://filemanager.gupshup.io/wa/23038a99-929b-408b-80eb-4d30cebb93d4/wa/media/2f997fea-9696-46c4-a2e5-8667fd27988d?download=false',
      contentType: 'image/jpeg',
      urlExpiry: 1718608420228,
    },
  }),
  audio: inbound(1718003880179, {
    id: 'ABEGkZUTIXZ0Ago6nbYEmVczNV4w',
    type: 'audio',
    payload: {
      url: 'https://filemanager.gupshup.io/wa/23038a99-929b-408b-80eb-4d30cebb93d4/wa/media/60830ca4-c005-420a-9574-50a50c9a7736?download=false',
      contentType: 'audio/ogg; codecs=opus',
      urlExpiry: 1718608680179,
    },
  }),
  file: inbound(1718003900000, {
    id: 'ABEGkZUTIXZ0Ago6fileExample01',
    type: 'file',
    payload: {
      caption: 'Purchase receipt',
      name: 'file1.pdf',
      url: 'https://filemanager.gupshup.io/fm/wamedia/DemoApp/68f1e51b-ac53-4dfb-b970-7b23431ed1d3',
      contentType: 'application/pdf',
      urlExpiry: 1718608700000,
    },
  }),
  video: inbound(1718003910000, {
    id: 'ABEGkZUTIXZ0Ago6videoExample1',
    type: 'video',
    payload: {
      caption: 'Unboxing',
      url: 'https://filemanager.gupshup.io/wa/23038a99-929b-408b-80eb-4d30cebb93d4/wa/media/video-1?download=false',
      contentType: 'video/mp4',
      urlExpiry: 1718608710000,
    },
  }),
  sticker: inbound(1718003920000, {
    id: 'ABEGkZUTIXZ0Ago6stickerExamp',
    type: 'sticker',
    payload: {
      url: 'https://filemanager.gupshup.io/wa/23038a99-929b-408b-80eb-4d30cebb93d4/wa/media/sticker-1?download=false',
      contentType: 'image/webp',
      urlExpiry: 1718608720000,
    },
  }),
  location: inbound(1580227950000, {
    id: 'ABEGkYaYVSEEAhAnLocationEx01',
    type: 'location',
    payload: { longitude: 72.8777, latitude: 19.076 },
    sender: { ...SENDER, name: 'John' },
  }),
  contact: inbound(1580227960000, {
    id: 'ABEGkYaYVSEEAhAnContactEx001',
    type: 'contact',
    payload: {
      contacts: [
        {
          name: { formatted_name: 'Asha Rao', first_name: 'Asha' },
          phones: [{ phone: '+919800000001' }],
        },
      ],
    },
  }),
  buttonReply: inbound(1580228523976, {
    id: 'ABEGkYaYVSEEAhCzqobr15BdMPcRup1fIXAJ',
    type: 'button_reply',
    payload: { title: 'First', id: 'qr1', reply: 'First 1' },
    sender: { ...SENDER, name: 'John' },
    context: { id: 'gBEGkYaYVSEEAgkvE0f1ZkfXX78', gsId: '123b0fb2-0620-493b-8f7e-5a1ceb6d8c58' },
  }),
  listReply: inbound(1580228523976, {
    id: 'ABEGkYaYVSEEAhCzqobr15BdMPcRup1fIXAJ',
    type: 'list_reply',
    payload: {
      title: 'section 1 row 1',
      id: 'list1',
      reply: 'section 1 row 1 1',
      postbackText: 'section 1 row 1 postback payload',
      description: 'first row of first section description',
    },
    sender: { ...SENDER, name: 'John' },
    context: { id: 'gBEGkYaYVSEEAgnPGGVYGg1uNU4', gsId: 'cbdafe39-1023-42a7-89d6-6c01a3388bb5' },
  }),
  quickReply: {
    app: 'DemoApp',
    phone: '918098700000',
    timestamp: 1712230664720,
    version: 2,
    type: 'message',
    payload: {
      id: 'ABEGkYaYVSEEAgo-sMx1DoUoQJRW',
      source: CUSTOMER,
      type: 'quick_reply',
      payload: { text: 'View Account Balance', type: 'button', postbackText: 'balance' },
      sender: { ...SENDER, name: 'Gerald' },
      context: { id: 'gBEGkYaYVSEEAgnPFrOLcjkFjL8', forwarded: false, frequently_forwarded: false },
    },
  },
};

export const GUPSHUP_ID = '59f8db90-c37e-4408-90ab-cc54ef8246ad';
export const WHATSAPP_ID = 'wamid.HBgMOTE5MTYzODA1ODczFQIAERgSMDQ4RjEx';

const event = <P extends Record<string, unknown>>(timestamp: number, payload: P) => ({
  app: 'DemoAPI',
  timestamp,
  version: 2,
  type: 'message-event',
  payload: { destination: CUSTOMER, ...payload },
});

export const statusFixtures = {
  enqueued: event(1580546677791, {
    id: GUPSHUP_ID,
    type: 'enqueued',
    payload: { whatsappMessageId: 'gBEGkYaYVSEEAgkD7bRi9syGnBk', type: 'session' },
  }),
  sent: event(1710930461500, {
    id: WHATSAPP_ID,
    gsId: GUPSHUP_ID,
    type: 'sent',
    ts: 1710930461,
    payload: {
      conversation: {
        id: '3dabdf65abaf1cbbf85217d232cce91f',
        expiresAt: 1710936120,
        type: 'Service',
      },
      pricing: { policy: 'CBP', category: 'Service' },
    },
  }),
  delivered: event(1710930462500, {
    id: WHATSAPP_ID,
    gsId: GUPSHUP_ID,
    type: 'delivered',
    ts: 1710930462,
    payload: { conversation: { id: '3dabdf65abaf1cbbf85217d232cce91f' } },
  }),
  read: event(1720779817500, {
    id: WHATSAPP_ID,
    gsId: GUPSHUP_ID,
    type: 'read',
    ts: 1720779817,
  }),
  failedSync: event(1580546677791, {
    id: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
    type: 'failed',
    payload: { code: 1002, reason: 'Number Does Not Exists On WhatsApp' },
  }),
  failedMeta: event(1710941507500, {
    id: 'wamid.HBgMOTE3OTgwODkwOTc4FQIAERgSNERF',
    gsId: '91f58e90-f5ba-4cfc-9ca7-e4ab965b9449',
    type: 'failed',
    payload: { code: 131047, reason: 'Re-engagement message' },
  }),
};

export const userEventFixtures = {
  optedIn: {
    app: 'DemoApp',
    timestamp: 1584541505908,
    version: 2,
    type: 'user-event',
    payload: { phone: CUSTOMER, type: 'opted-in' },
  },
  sandboxStart: {
    app: 'DemoApp',
    timestamp: 1580142086287,
    version: 2,
    type: 'user-event',
    payload: { phone: 'callbackSetPhone', type: 'sandbox-start' },
  },
};
