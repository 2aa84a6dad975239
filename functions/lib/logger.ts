type Level = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Keys whose values never reach the logs: credentials, and customers' words (message bodies are
 * personal data). Matching is on the key name, at any depth.
 */
const redactedKey =
  /token|secret|password|authorization|signature|cookie|body|content|text|caption|apikey|key$/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * Each level through its own console method: Workers Logs files lines by it, and `wrangler dev`
 * (`npm start`, dev/start.ts) shows a Worker's console.info/warn/error at `--log-level info`
 * while console.log needs `log`, where wrangler's own chatter is printed too. Everything went
 * through console.log before, so `npm start` showed none of the Worker's lines (issue 15).
 */
const writeToConsole = (line: string, level: Level) => console[level](line);

/** Structured JSON logs, one line per event, carrying the request and correlation ids given. */
export function createLogger(
  base: LogFields,
  minLevel: Level = 'info',
  write: (line: string, level: Level) => void = writeToConsole,
): Logger {
  const emit = (level: Level, msg: string, fields?: LogFields) => {
    if (rank[level] < rank[minLevel]) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...redact(fields) }),
      level,
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...redact(fields) }, minLevel, write),
  };
}

function redact(fields: LogFields | undefined): LogFields {
  if (!fields) return {};
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (redactedKey.test(k)) out[k] = '[redacted]';
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = redact(v as LogFields);
    else out[k] = v;
  }
  return out;
}

export type SafeErrorFields = {
  /** The error's class: `DrizzleQueryError`, `PostgresError`, `TypeError`, … */
  error: string;
  /** Postgres SQLSTATE (`23505`) or the driver's / network code (`ECONNREFUSED`), when there is one. */
  code?: string;
  /** A message without query parameters or the values a data error quotes. */
  detail: string;
};

const DETAIL_LIMIT = 300;

/**
 * What may be logged (or returned to QStash) about an error. drizzle's DrizzleQueryError puts the
 * query's `params:` (names, phone numbers, message text) into its message, so for it the cause's
 * message is used: the database's own message, which names constraints and columns but not the
 * parameters. The key-based redaction in `createLogger` cannot catch this: the data sits inside a
 * string under an innocent key.
 */
export function safeErrorFields(err: unknown): SafeErrorFields {
  if (!(err instanceof Error)) return { error: typeof err, detail: 'a non-Error value was thrown' };
  const queryError = isQueryError(err);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = codeOf(err) ?? (cause ? codeOf(cause) : undefined);
  let detail = queryError ? (cause?.message ?? 'the query failed') : err.message;
  // Defence in depth: an error whose message embeds a query error's (`wrapped: ${e.message}`).
  detail = detail.replace(/\bparams:[\s\S]*$/, '[params withheld]');
  // Data exceptions (class 22) quote the offending value: `invalid input syntax for type uuid: "…"`.
  if (code?.startsWith('22')) detail = detail.replace(/:\s*"[\s\S]*$/, ': [value withheld]');
  return {
    error: queryError ? 'DrizzleQueryError' : err.name,
    ...(code ? { code } : {}),
    detail: detail.slice(0, DETAIL_LIMIT),
  };
}

/** drizzle-orm's DrizzleQueryError, by shape: functions/ does not import drizzle (and names can be minified). */
function isQueryError(err: Error): boolean {
  return (
    (typeof Reflect.get(err, 'query') === 'string' && 'params' in err) ||
    err.message.startsWith('Failed query: ')
  );
}

function codeOf(err: Error): string | undefined {
  const code = Reflect.get(err, 'code');
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : undefined;
}
