import { z } from 'zod';
import type { Database } from '../db/client';

/** A database handle shared by requests (see `DATABASE_POOL`). */
export type DatabasePool = { db: Database };

const bool = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');
const url = z.url({ protocol: /^https?$/ });

/**
 * Every variable the Worker reads, validated once per isolate. `.dev.vars.example` documents each.
 * A missing or invalid variable fails with a message naming it (see `parseEnv`).
 */
export const envSchema = z
  .object({
    ENVIRONMENT: z.enum(['development', 'test', 'production']).default('production'),
    APP_VERSION: z.string().default('dev'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** Public base URL of this Worker: QStash delivers jobs to `${PUBLIC_BASE_URL}/jobs/:kind`. */
    PUBLIC_BASE_URL: url,
    /** Direct connection string; when absent the Hyperdrive binding's is used. */
    DATABASE_URL: z.string().startsWith('postgres').optional(),
    HYPERDRIVE: z.object({ connectionString: z.string().min(1) }).optional(),
    /**
     * Served on Node rather than as a Worker (the throughput benchmarks): one pool shared by every
     * request, as Hyperdrive is to a Worker, instead of a client per request. Never set on Workers.
     */
    DATABASE_POOL: z
      .custom<DatabasePool>(
        (v) => typeof v === 'object' && v !== null && 'db' in v,
        'must be a shared database pool ({ db })',
      )
      .optional(),

    META_APP_ID: z.string().min(1),
    META_APP_SECRET: z.string().min(8),
    META_VERIFY_TOKEN: z.string().min(8),
    GRAPH_API_BASE_URL: url.default('https://graph.facebook.com'),
    GRAPH_API_VERSION: z
      .string()
      .regex(/^v\d+\.\d+$/)
      .default('v23.0'),
    WHATSAPP_ALLOW_LIVE_SEND: bool,
    /** WhatsApp numbers carried by a provider (functions/providers) send through its API. */
    GUPSHUP_API_BASE_URL: url.default('https://api.gupshup.io'),
    YCLOUD_API_BASE_URL: url.default('https://api.ycloud.com'),

    UPSTASH_REDIS_REST_URL: url,
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    QSTASH_URL: url.default('https://qstash.upstash.io'),
    QSTASH_TOKEN: z.string().min(1),
    QSTASH_CURRENT_SIGNING_KEY: z.string().min(1),
    QSTASH_NEXT_SIGNING_KEY: z.string().min(1),
    /**
     * Agent turns of one tenant QStash delivers at once (flow control `agent-turn-<tenantId>`):
     * a burst of conversations queues instead of opening a database connection and a model call each.
     */
    AGENT_TURN_PARALLELISM: z.coerce.number().int().min(1).max(1000).default(4),

    /** Supabase project URL: operator JWTs with asymmetric keys are checked against its JWKS. */
    SUPABASE_URL: url,
    /** Public (anon / publishable) key, handed to the operator page for sign-in. */
    SUPABASE_ANON_KEY: z.string().min(1),
    /** Legacy HS256 JWT secret, where the project still signs with one. */
    SUPABASE_JWT_SECRET: z.string().min(32).optional(),

    /** base64 of 32 random bytes: AES-256-GCM key for channel credentials at rest. */
    CREDENTIALS_ENCRYPTION_KEY: z
      .string()
      .refine((v) => base64Length(v) === 32, 'must be base64 of exactly 32 bytes'),

    /**
     * Signs the web chat widget's visitor tokens (HS256; 32+ characters, e.g. `openssl rand
     * -base64 32`). Unset: the widget's endpoints answer 503 (docs/widget.md).
     */
    WIDGET_TOKEN_SECRET: z.string().min(32).optional(),
    /** Messages one widget visitor may send per minute (then 429 with Retry-After). */
    WIDGET_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(12),

    OPENAI_API_KEY: z.string().optional(),
    OPENAI_BASE_URL: url.optional(),
    OPENAI_MODEL: z.string().default('gpt-4.1-mini'),

    /**
     * An OpenAI-compatible embeddings endpoint (`${EMBEDDINGS_BASE_URL}/embeddings`, e.g.
     * https://api.openai.com/v1) for knowledge search by meaning, across languages. Unset: search
     * is full-text only (the offline demo), and articles are not embedded.
     */
    EMBEDDINGS_BASE_URL: url.optional(),
    EMBEDDINGS_API_KEY: z.string().optional(),
    EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
    /**
     * The least cosine similarity at which an article counts as a match by meaning: nearest
     * neighbours always exist, and below this they are unrelated. Depends on the model; 0.3 suits
     * OpenAI's text-embedding-3 models.
     */
    EMBEDDINGS_MIN_SIMILARITY: z.coerce.number().min(0).max(1).default(0.3),
    /**
     * Traces out (docs/observability.md): each agent run exported as OpenTelemetry spans over
     * OTLP/HTTP. `..._TRACES_ENDPOINT` is the full URL; `OTEL_EXPORTER_OTLP_ENDPOINT` a base URL
     * that gets `/v1/traces`, as the OpenTelemetry specification says. Unset (and no Langfuse keys
     * below): nothing is exported, unless a business configures its own endpoint.
     */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
    /** `name=value,name2=value2` (values percent-encoded), sent with every export. */
    OTEL_EXPORTER_OTLP_HEADERS: z
      .string()
      .refine((v) => parseOtlpHeaders(v) !== null, 'must be name=value pairs separated by commas')
      .optional(),
    OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
    OTEL_SERVICE_NAME: z.string().min(1).default('switchboard'),
    /**
     * Langfuse's OTLP endpoint (`${LANGFUSE_BASE_URL}/api/public/otel/v1/traces`) with Basic
     * authorization built from the project's keys; used when no OTEL_EXPORTER_OTLP_* endpoint is set.
     */
    LANGFUSE_PUBLIC_KEY: z.string().min(1).optional(),
    LANGFUSE_SECRET_KEY: z.string().min(1).optional(),
    LANGFUSE_BASE_URL: url.default('https://cloud.langfuse.com'),

    /**
     * R2 bucket binding (not a variable: `[[r2_buckets]]` in wrangler.toml) where downloaded
     * customer media is kept; see docs/media.md. Without it media downloads wait and retry.
     */
    MEDIA: z
      .custom<R2Bucket>(
        (v) => typeof v === 'object' && v !== null && typeof Reflect.get(v, 'get') === 'function',
        'must be an R2 bucket binding',
      )
      .optional(),
  })
  .refine((e) => e.DATABASE_URL || e.HYPERDRIVE || e.DATABASE_POOL, {
    message: 'set DATABASE_URL or bind HYPERDRIVE',
    path: ['DATABASE_URL'],
  })
  .refine((e) => !e.LANGFUSE_PUBLIC_KEY === !e.LANGFUSE_SECRET_KEY, {
    message: 'set both LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, or neither',
    path: ['LANGFUSE_SECRET_KEY'],
  });

export type Env = z.infer<typeof envSchema>;

/** An HTTP header's name (RFC 9110's token), as the trace export headers may be named. */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

/**
 * OTEL_EXPORTER_OTLP_HEADERS as the OpenTelemetry specification writes it: `name=value` pairs
 * separated by commas, values percent-encoded. Null when malformed.
 */
export function parseOtlpHeaders(value: string): Record<string, string> | null {
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const name = pair.slice(0, at).trim();
    if (at < 1 || !HEADER_NAME.test(name)) return null;
    try {
      headers[name] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      return null;
    }
  }
  return headers;
}

function base64Length(value: string): number {
  try {
    return atob(value).length;
  } catch {
    return -1;
  }
}

export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'EnvironmentError';
  }
}

/** Parses raw bindings; throws EnvironmentError naming every missing or invalid variable. */
export function parseEnv(raw: Record<string, unknown>): Env {
  // Wrangler passes unset vars as absent, .dev.vars may leave them empty: treat '' as unset.
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  throw new EnvironmentError(
    result.error.issues.map((i) => {
      const name = i.path.join('.') || '(root)';
      const missing =
        i.code === 'invalid_type' && i.path.length === 1 && !(String(i.path[0]) in present);
      return `${name}: ${missing ? 'is required (see .dev.vars.example)' : i.message}`;
    }),
  );
}
