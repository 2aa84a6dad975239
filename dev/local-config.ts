/**
 * The local stack's fixed ports, secrets and demo identities. Everything here is for a developer's
 * machine only: the secrets are public by design (they are in the README).
 */
/**
 * `SWITCHBOARD_PORT_OFFSET` moves every port, so a second stack (the end-to-end test) can run
 * beside a developer's `npm start`.
 */
const offset = Number(process.env.SWITCHBOARD_PORT_OFFSET ?? 0) || 0;
export const ports = {
  worker: 8787 + offset,
  postgres: 54322 + offset,
  auth: 54321 + offset,
  redis: 8079 + offset,
  qstash: 8080 + offset,
  graph: 8090 + offset,
  /** WhatsApp numbers carried by Gupshup and YCloud (functions/providers). */
  gupshup: 8091 + offset,
  ycloud: 8092 + offset,
  embeddings: 8095 + offset,
  /** OTLP/HTTP's usual port: the collector stand-in. */
  otlp: 4318 + offset,
  /** The demo business sites with the chat widget (dev/demo-site.ts). */
  demoSite: 8060 + offset,
  inspector: 9229 + offset,
} as const;

export const localSecrets = {
  metaAppId: 'local-meta-app',
  metaAppSecret: 'local-meta-app-secret',
  metaVerifyToken: 'local-verify-token',
  graphAccessToken: 'local-graph-access-token',
  redisToken: 'local-redis-token',
  qstashToken: 'local-qstash-token',
  qstashCurrentSigningKey: 'sig_local_current_signing_key',
  qstashNextSigningKey: 'sig_local_next_signing_key',
  /** Supabase CLI's well-known local JWT secret. */
  jwtSecret: 'super-secret-jwt-token-with-at-least-32-characters-long',
  anonKey: 'local-anon-key',
  /** The demo numbers on Gupshup and YCloud: their API keys and callback secrets. */
  gupshupApiKey: 'local-gupshup-api-key',
  gupshupCallbackSecret: 'local-gupshup-callback-secret',
  ycloudApiKey: 'local-ycloud-api-key',
  ycloudWebhookSecret: 'whsec_local_ycloud_webhook_secret',
  /** 32 bytes of 0x2a, base64: the local AES-GCM key for channel credentials. */
  encryptionKey: Buffer.alloc(32, 42).toString('base64'),
  /** Signs the web widget's visitor tokens. */
  widgetTokenSecret: 'local-widget-token-secret-at-least-32-characters',
} as const;

export const demoPassword = 'switchboard-demo';

export const demoTenants = [
  {
    id: '11111111-1111-4111-8111-111111111111',
    name: 'Clínica Sonrisa',
    slug: 'clinica-sonrisa',
    timeZone: 'Europe/Madrid',
    description: 'Dental clinic in Madrid: check-ups, cleanings, orthodontics.',
    whatsapp: {
      phoneNumberId: '100000000000001',
      wabaId: '200000000000001',
      displayPhone: '15550100001',
    },
    messengerPageId: '300000000000001',
    instagramId: '400000000000001',
    /** The same business's second and third numbers, carried by Gupshup and by YCloud. */
    gupshup: {
      accountId: '11111111-9000-4000-8000-000000000001',
      appName: 'ClinicaSonrisaApp',
      phone: '15550100011',
      wabaId: '200000000000011',
    },
    ycloud: {
      accountId: '11111111-9000-4000-8000-000000000002',
      phone: '+15550100021',
      wabaId: '200000000000021',
    },
    widget: {
      key: 'pk_demo_sonrisa_widget',
      color: '#0b6e4f',
      greeting: '¡Hola! Soy el asistente de Clínica Sonrisa. ¿En qué te ayudo?',
    },
    users: [
      { id: '11111111-0000-4000-8000-000000000001', email: 'owner@sonrisa.test', role: 'owner' },
      { id: '11111111-0000-4000-8000-000000000002', email: 'agent@sonrisa.test', role: 'agent' },
    ],
  },
  {
    id: '22222222-2222-4222-8222-222222222222',
    name: 'Glow Salon',
    slug: 'glow-salon',
    timeZone: 'America/New_York',
    description: 'Hair and nails salon in Brooklyn.',
    whatsapp: {
      phoneNumberId: '100000000000002',
      wabaId: '200000000000002',
      displayPhone: '15550100002',
    },
    messengerPageId: '300000000000002',
    instagramId: '400000000000002',
    gupshup: {
      accountId: '22222222-9000-4000-8000-000000000001',
      appName: 'GlowSalonApp',
      phone: '15550100012',
      wabaId: '200000000000012',
    },
    ycloud: {
      accountId: '22222222-9000-4000-8000-000000000002',
      phone: '+15550100022',
      wabaId: '200000000000022',
    },
    widget: {
      key: 'pk_demo_glow_widget',
      color: '#8a2361',
      greeting: 'Hi! I am Glow Salon’s assistant. How can I help?',
    },
    users: [
      { id: '22222222-0000-4000-8000-000000000001', email: 'owner@glow.test', role: 'owner' },
      { id: '22222222-0000-4000-8000-000000000002', email: 'agent@glow.test', role: 'agent' },
    ],
  },
] as const;

/**
 * Wrangler refuses a Hyperdrive local connection string without a password, even for a trust-auth
 * server (the machine's Postgres) that ignores it: add a placeholder where there is none.
 */
export function hyperdriveLocalConnectionString(connectionString: string): string {
  const url = new URL(connectionString);
  if (!url.password) url.password = 'unused';
  return url.toString();
}

/** Where the demo numbers on a provider post their callbacks: the Worker's provider webhook. */
export function providerCallbackUrl(
  workerUrl: string,
  provider: 'gupshup' | 'ycloud',
  accountId: string,
): string {
  const base = `${workerUrl}/webhooks/${provider}/${accountId}`;
  // Gupshup does not sign callbacks: the secret is carried by the URL only.
  return provider === 'gupshup'
    ? `${base}?secret=${encodeURIComponent(localSecrets.gupshupCallbackSecret)}`
    : base;
}
