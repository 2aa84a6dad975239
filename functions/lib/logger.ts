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

/** Structured JSON logs, one line per event, carrying the request and correlation ids given. */
export function createLogger(
  base: LogFields,
  minLevel: Level = 'info',
  write: (line: string) => void = (line) => console.log(line),
): Logger {
  const emit = (level: Level, msg: string, fields?: LogFields) => {
    if (rank[level] < rank[minLevel]) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...redact(fields) }),
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
