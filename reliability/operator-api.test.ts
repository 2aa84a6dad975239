import { sign } from 'hono/jwt';
import { describe, expect } from 'vitest';
import type { TenantFixture } from '../test/fixtures';
import { type Harness, TEST_WIDGET_TOKEN_SECRET } from '../test/harness';
import { it } from '../test/it';
import { hs256Token, unsignedToken } from '../test/tokens';
import { inBatches, secondsSince, summary, Tally } from './report';
import { captureLogs, leaksIn } from './secrets';
import { CONCURRENCY, size } from './sizes';
import { seedTenantRows, type TenantRows, tenantFingerprint, WIDGET_ORIGIN } from './tenant-rows';

/**
 * Issue 15, the operator API: every route `/openapi.json` lists (the businesses' `/admin` and the
 * platform operators' `/platform`), called with every forged or
 * wrong identity (no token, bad signature, expired, no `exp`, `alg: none`, wrong audience,
 * non-UUID `sub`, a member of another business, a signed-in stranger, an agent doing owner-only
 * writes, a business's owner on the platform routes), and every id-taking route called by a real
 * owner with another tenant's ids. Holds:
 * 401/403/404 as docs/security.md says, the error envelope and nothing else, not one row of
 * either tenant changed, no secret or channel credential in any answer or log line; the page's
 * security headers; no CORS anywhere (the page and the API share one origin).
 */
it.override('harnessOptions', {
  bindings: { LOG_LEVEL: 'debug' },
  objectBindings: {
    ASSETS: {
      fetch: async () =>
        new Response('<!doctype html><title>Switchboard</title>', {
          headers: { 'content-type': 'text/html; charset=utf-8' },
        }),
    },
  },
});
const logs = captureLogs();

/**
 * What docs/security.md specifies as owners' and admins' writes; the probe also reads the routes
 * guarded by `requireRole` from the app, so a guard added or dropped without this list fails.
 */
const OWNER_ONLY = [
  'GET /admin/webhook-events',
  'POST /admin/webhook-events/:id/replay',
  'POST /admin/canned-replies',
  'PATCH /admin/canned-replies/:id',
  'DELETE /admin/canned-replies/:id',
  'POST /admin/knowledge',
  'PATCH /admin/knowledge/:id',
  'DELETE /admin/knowledge/:id',
  'PATCH /admin/settings',
  'POST /admin/services',
  'PATCH /admin/services/:id',
  'DELETE /admin/services/:id',
  'POST /admin/staff',
  'PATCH /admin/staff/:id',
  'DELETE /admin/staff/:id',
  'POST /admin/staff/:id/working-hours',
  'PATCH /admin/staff/:id/working-hours/:hours_id',
  'DELETE /admin/staff/:id/working-hours/:hours_id',
  'POST /admin/schedule-exceptions',
  'PATCH /admin/schedule-exceptions/:id',
  'DELETE /admin/schedule-exceptions/:id',
  'POST /admin/opportunities/scan',
  'PUT /admin/ai-prices/:model',
  'DELETE /admin/ai-prices/:model',
  'POST /admin/channels',
  'POST /admin/channels/:id/webhook-secret',
  'PUT /admin/channels/:id/api-key',
  'POST /admin/channels/widgets',
  'PATCH /admin/channels/:id/widget',
].sort();

/**
 * Path parameters that name something in the caller's own business rather than point at a row:
 * `PUT /admin/ai-prices/{model}` sets the caller's price for a model of that name, whatever price
 * another business keeps under it (its DELETE still must not find the other's: 404).
 */
const OWN_NAMESPACE = ['PUT /admin/ai-prices/{model}'];

type Schema = {
  $ref?: string;
  type?: string | string[];
  example?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
};
type Operation = {
  parameters?: Array<{
    name: string;
    in: string;
    required?: boolean;
    example?: unknown;
    schema?: Schema;
  }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

/** A body built from the document's examples: what a client reading the docs would send. */
function exampleOf(doc: Document, schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 8) return undefined;
  if (schema.example !== undefined) return schema.example;
  if (schema.$ref) {
    return exampleOf(
      doc,
      doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')],
      depth + 1,
    );
  }
  const variant = schema.allOf?.[0] ?? schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (variant) return exampleOf(doc, variant, depth + 1);
  if (schema.enum) return schema.enum[0];
  if (schema.properties) {
    const out: Record<string, unknown> = {};
    for (const name of schema.required ?? Object.keys(schema.properties)) {
      const value = exampleOf(doc, schema.properties[name], depth + 1);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (schema.items) return [exampleOf(doc, schema.items, depth + 1)].filter((v) => v !== undefined);
  return undefined;
}

type Route = {
  method: string;
  /** OpenAPI form, `/admin/chats/{id}/messages`. */
  template: string;
  /** Hono form, `/admin/chats/:id/messages`, as the role guard list names it. */
  honoPath: string;
  body?: unknown;
  query: string;
  takesIds: boolean;
  /** A platform operator's route (`/platform/…`): no business's member may use it. */
  platform: boolean;
};

function routesOf(doc: Document): Route[] {
  const routes: Route[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    if (!template.startsWith('/admin/') && !template.startsWith('/platform/')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const query = (op.parameters ?? [])
        .filter((p) => p.in === 'query' && p.required)
        .map(
          (p) =>
            `${p.name}=${encodeURIComponent(String(p.example ?? exampleOf({ paths: {}, components: { schemas: {} } }, p.schema) ?? ''))}`,
        )
        .join('&');
      const schema = op.requestBody?.content['application/json']?.schema;
      routes.push({
        method: method.toUpperCase(),
        template,
        honoPath: template.replace(/\{(\w+)\}/g, ':$1'),
        body: schema ? exampleOf(doc, schema) : undefined,
        query: query ? `?${query}` : '',
        takesIds:
          /\{\w+\}/.test(template) &&
          !OWN_NAMESPACE.includes(`${method.toUpperCase()} ${template}`),
        platform: template.startsWith('/platform/'),
      });
    }
  }
  return routes;
}

/** The route's path with each parameter taken from `rows` (a random UUID where it has none). */
function pathWith(route: Route, rows: TenantRows | null) {
  const segments = route.template.split('/');
  return (
    segments
      .map((segment, i) => {
        const param = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (!param) return segment;
        if (param === 'index') return '0';
        const resource = segments[i - 1] === 'ai' ? 'logs' : (segments[i - 1] ?? '');
        const id = rows?.ids[param] ?? rows?.ids[resource];
        return (
          id ?? (param === 'correlation_id' ? `turn-${crypto.randomUUID()}` : crypto.randomUUID())
        );
      })
      .join('/') + route.query
  );
}

type Identity = {
  name: string;
  expect: number;
  token: (h: Harness, a: TenantFixture, b: TenantFixture) => Promise<string | null>;
  /** X-Tenant-Id sent with it. */
  tenantHeader?: (a: TenantFixture) => string;
};

const issuerOf = (h: Harness) => `${h.issuer.url}/auth/v1`;
const IDENTITIES: Identity[] = [
  { name: 'no-token', expect: 401, token: async () => null },
  {
    name: 'bad-signature',
    expect: 401,
    token: (h, a) => hs256Token({ sub: a.owner.id, issuer: issuerOf(h), secret: 'x'.repeat(40) }),
  },
  {
    name: 'expired',
    expect: 401,
    token: (h, a) => hs256Token({ sub: a.owner.id, issuer: issuerOf(h), expiresInSeconds: -60 }),
  },
  {
    name: 'no-exp',
    expect: 401,
    token: (h, a) => hs256Token({ sub: a.owner.id, issuer: issuerOf(h), expiresInSeconds: null }),
  },
  {
    name: 'alg-none',
    expect: 401,
    token: async (h, a) => unsignedToken({ sub: a.owner.id, issuer: issuerOf(h) }),
  },
  {
    name: 'wrong-audience',
    expect: 401,
    token: (h, a) => hs256Token({ sub: a.owner.id, issuer: issuerOf(h), audience: 'anon' }),
  },
  {
    name: 'wrong-issuer',
    expect: 401,
    token: (_h, a) => hs256Token({ sub: a.owner.id, issuer: 'https://evil.example/auth/v1' }),
  },
  {
    name: 'non-uuid-sub',
    expect: 401,
    token: (h) => hs256Token({ sub: "1' or '1'='1", issuer: issuerOf(h) }),
  },
  {
    name: 'other-tenant-member',
    expect: 403,
    token: (h, _a, b) => h.tokenFor(b.owner),
    tenantHeader: (a) => a.tenantId,
  },
];

describe('reliability: the operator API under forged identities', () => {
  it('every route × every forged identity, and every id of another tenant: refused, no data, nothing changed', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const started = performance.now();
    const a = await newTenant('Operator A');
    const b = await newTenant('Operator B');
    const rowsA = await seedTenantRows(sql, a);
    const rowsB = await seedTenantRows(sql, b);
    const strangerId = crypto.randomUUID();
    const stranger = { id: strangerId, email: `stranger-${strangerId}@example.test` };
    await sql`insert into auth.users (id, email) values (${stranger.id}, ${stranger.email})`;
    const identities: Identity[] = [
      ...IDENTITIES,
      { name: 'stranger', expect: 403, token: (h) => h.tokenFor(stranger) },
    ];

    const doc = (await (await h.request('/openapi.json')).json()) as Document;
    const routes = routesOf(doc);
    const guarded = h.app.routes
      .filter((r) => r.handler.name === 'requireRole')
      .map((r) => `${r.method} ${r.path}`)
      .sort();

    const markers = [rowsA.marker, rowsB.marker];
    const secrets = [...rowsA.secrets, ...rowsB.secrets];
    const before = [
      await tenantFingerprint(sql, a.tenantId),
      await tenantFingerprint(sql, b.tenantId),
    ];
    const answers = new Tally();
    const wrong: string[] = [];
    const leaks: string[] = [];

    async function call(route: Route, path: string, token: string | null, tenantHeader?: string) {
      const res = await h.request(path, {
        method: route.method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(tenantHeader ? { 'x-tenant-id': tenantHeader } : {}),
          ...(route.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: route.body !== undefined ? JSON.stringify(route.body) : undefined,
      });
      const text = await res.text();
      leaks.push(...leaksIn(text), ...secrets.filter((s) => text.includes(s)));
      return { status: res.status, text };
    }
    /** A refusal: the status, and the error envelope with nothing else in it. */
    function refusal(
      label: string,
      got: { status: number; text: string },
      status: number,
      victim?: string,
    ) {
      answers.add(`${label}-${got.status}`);
      let keys: string[] = [];
      try {
        keys = Object.keys(JSON.parse(got.text) as object);
      } catch {}
      if (
        got.status !== status ||
        keys.join() !== 'error' ||
        (victim && got.text.includes(victim))
      ) {
        wrong.push(`${label}: ${got.status} ${got.text.slice(0, 200)}`);
      }
    }

    let calls = 0;
    for (let round = 0; round < size.operatorRounds; round++) {
      const probes = routes.flatMap((route) => identities.map((identity) => ({ route, identity })));
      await inBatches(probes, CONCURRENCY, async ({ route, identity }) => {
        const token = await identity.token(h, a, b);
        const got = await call(route, pathWith(route, rowsA), token, identity.tenantHeader?.(a));
        calls++;
        refusal(
          `${identity.name} ${route.method} ${route.template}`,
          got,
          identity.expect,
          rowsA.marker,
        );
      });
      // An agent of A doing an owner's or admin's write, on A's own rows: 403.
      const agentToken = await h.tokenFor(a.agent);
      for (const route of routes.filter((r) => OWNER_ONLY.includes(`${r.method} ${r.honoPath}`))) {
        const got = await call(route, pathWith(route, rowsA), agentToken);
        calls++;
        refusal(`agent ${route.method} ${route.template}`, got, 403);
      }
      // A business's owner is no platform operator: 403 on every platform route.
      const ownerToken = await h.tokenFor(a.owner);
      for (const route of routes.filter((r) => r.platform)) {
        const got = await call(route, pathWith(route, rowsA), ownerToken);
        calls++;
        refusal(`business-owner ${route.method} ${route.template}`, got, 403);
      }
      // A's owner naming B's ids: 404, exactly as for an id that does not exist.
      for (const route of routes.filter((r) => r.takesIds && !r.platform)) {
        // The documented example names no member of A: a member, so the id is what is checked.
        if (route.body && typeof route.body === 'object' && 'user_id' in route.body) {
          route.body = { ...route.body, user_id: a.agent.id };
        }
        const foreign = await call(route, pathWith(route, rowsB), ownerToken);
        const missing = await call(route, pathWith(route, null), ownerToken);
        calls += 2;
        refusal(`foreign-id ${route.method} ${route.template}`, foreign, 404, rowsB.marker);
        const code = (text: string) =>
          text.replace(/"requestId":"[^"]*"/, '').replace(/[0-9a-f-]{36}|turn-[0-9a-f-]+/g, 'ID');
        if (code(foreign.text) !== code(missing.text) || foreign.status !== missing.status) {
          wrong.push(
            `foreign-id ${route.method} ${route.template}: unlike a missing id (${foreign.status} vs ${missing.status})`,
          );
        }
      }
    }

    // B's ids inside A's owner's request bodies (send to B's chat, book B's service for B's
    // contact): refused (4xx), nothing of B in the answer; the fingerprints below say nothing changed.
    const bodyIds: Record<string, string | undefined> = {
      conversation_id: rowsB.ids.conversations,
      contact_id: rowsB.ids.contacts,
      service_id: rowsB.ids.services,
      staff_id: rowsB.ids.staff,
      message_id: rowsB.ids.messages,
    };
    const ownerToken = await h.tokenFor(a.owner);
    for (const route of routes) {
      const body = route.body;
      if (!body || typeof body !== 'object' || Array.isArray(body)) continue;
      const keys = Object.keys(body).filter((k) => bodyIds[k]);
      if (keys.length === 0) continue;
      const foreignBody = { ...body, ...Object.fromEntries(keys.map((k) => [k, bodyIds[k]])) };
      const got = await call({ ...route, body: foreignBody }, pathWith(route, rowsA), ownerToken);
      calls++;
      answers.add(`foreign-body-${got.status}`);
      if (got.status < 400 || got.status >= 500 || got.text.includes(rowsB.marker)) {
        wrong.push(
          `foreign-body ${route.method} ${route.template}: ${got.status} ${got.text.slice(0, 200)}`,
        );
      }
    }

    // The web widget's public routes (docs/widget.md): B's visitor, B's key and every token that
    // mixes B's tenant with A's widget or visitor reach nothing of A's; refusals are the envelope.
    const widgetToken = (
      claims: { tid: string; aid: string; sub: string; key: string },
      secret = TEST_WIDGET_TOKEN_SECRET,
    ) => {
      const iat = Math.floor(Date.now() / 1000);
      return sign({ ...claims, aud: 'switchboard-widget', iat, exp: iat + 600 }, secret, 'HS256');
    };
    const wa = rowsA.widget;
    const wb = rowsB.widget;
    const widgetProbes: Array<{
      label: string;
      path: string;
      method: string;
      token?: string;
      body?: unknown;
      origin?: string;
      expect: number;
    }> = [
      {
        label: 'own visitor of B',
        path: '/widget/messages',
        method: 'GET',
        token: await widgetToken({
          tid: b.tenantId,
          aid: wb.channelAccountId,
          sub: wb.visitorId,
          key: wb.key,
        }),
        expect: 200,
      },
      {
        label: "A's visitor under B",
        path: '/widget/messages',
        method: 'GET',
        token: await widgetToken({
          tid: b.tenantId,
          aid: wb.channelAccountId,
          sub: wa.visitorId,
          key: wb.key,
        }),
        expect: 200,
      },
      {
        label: "A's widget under B",
        path: '/widget/messages',
        method: 'GET',
        token: await widgetToken({
          tid: b.tenantId,
          aid: wa.channelAccountId,
          sub: wa.visitorId,
          key: wa.key,
        }),
        expect: 401,
      },
      {
        label: "A's widget under B, sending",
        path: '/widget/messages',
        method: 'POST',
        token: await widgetToken({
          tid: b.tenantId,
          aid: wa.channelAccountId,
          sub: wa.visitorId,
          key: wa.key,
        }),
        body: { text: 'hi', client_message_id: 'reliability-1' },
        expect: 401,
      },
      {
        label: "A's widget under B, profile",
        path: '/widget/profile',
        method: 'PUT',
        token: await widgetToken({
          tid: b.tenantId,
          aid: wa.channelAccountId,
          sub: wa.visitorId,
          key: wa.key,
        }),
        body: { name: 'x', email: 'x@example.test' },
        expect: 401,
      },
      {
        label: "A's visitor, forged",
        path: '/widget/messages',
        method: 'GET',
        token: await widgetToken(
          { tid: a.tenantId, aid: wa.channelAccountId, sub: wa.visitorId, key: wa.key },
          'a-forger-secret-of-at-least-32-characters',
        ),
        expect: 401,
      },
      {
        label: "A's key from another origin",
        path: '/widget/session',
        method: 'POST',
        body: { key: wa.key },
        origin: 'https://evil.example',
        expect: 403,
      },
      {
        label: "A's visitor token with B's key",
        path: '/widget/session',
        method: 'POST',
        body: {
          key: wb.key,
          token: await widgetToken({
            tid: a.tenantId,
            aid: wa.channelAccountId,
            sub: wa.visitorId,
            key: wa.key,
          }),
        },
        expect: 200,
      },
    ];
    for (const probe of widgetProbes) {
      const res = await h.request(probe.path, {
        method: probe.method,
        headers: {
          origin: probe.origin ?? WIDGET_ORIGIN,
          'cf-connecting-ip': `192.0.2.${calls % 250}`,
          ...(probe.token ? { authorization: `Bearer ${probe.token}` } : {}),
          ...(probe.body ? { 'content-type': 'application/json' } : {}),
        },
        body: probe.body ? JSON.stringify(probe.body) : undefined,
      });
      calls++;
      const text = await res.text();
      leaks.push(...leaksIn(text), ...secrets.filter((s) => text.includes(s)));
      if (
        res.status !== probe.expect ||
        text.includes(rowsA.marker) ||
        text.includes(wa.visitorId)
      ) {
        wrong.push(`widget ${probe.label}: ${res.status} ${text.slice(0, 200)}`);
      }
    }

    // The page: its security headers; and no CORS grant anywhere, preflight or not.
    const page = await h.request('/');
    const csp = page.headers.get('content-security-policy') ?? '';
    const pageHeaders =
      page.status === 200 &&
      /frame-ancestors 'none'/.test(csp) &&
      /script-src 'self'(;|$)/.test(csp) &&
      page.headers.get('referrer-policy') === 'strict-origin-when-cross-origin' &&
      page.headers.get('x-frame-options') === 'DENY';
    let corsGrants = 0;
    for (const path of [
      '/',
      '/admin/me',
      '/admin/chats/summary',
      '/openapi.json',
      '/config.json',
      '/healthz',
      '/webhooks/meta',
      '/jobs/send',
    ]) {
      for (const method of ['GET', 'OPTIONS']) {
        const res = await h.request(path, {
          method,
          headers: {
            origin: 'https://evil.example',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization',
          },
        });
        if ([...res.headers.keys()].some((k) => k.startsWith('access-control-allow'))) corsGrants++;
      }
    }

    const after = [
      await tenantFingerprint(sql, a.tenantId),
      await tenantFingerprint(sql, b.tenantId),
    ];
    const changed = [0, 1].flatMap((i) =>
      Object.keys(before[i] ?? {})
        .filter((k) => before[i]?.[k] !== after[i]?.[k])
        .map((k) => `${i ? 'B' : 'A'}:${k}`),
    );
    const logLeaks = logs.leaks();
    const logMarkers = logs.lines.filter(
      (l) => markers.some((m) => l.includes(m)) || secrets.some((s) => l.includes(s)),
    );
    const statuses = new Tally();
    for (const [label, n] of answers
      .toString()
      .split(',')
      .map((x) => x.split(':'))) {
      statuses.add(String(label).split('-').pop() ?? '', Number(n));
    }
    summary('operator-api', {
      routes: routes.length,
      identities: identities.length + 1,
      calls,
      answers: statuses.toString(),
      wrong: wrong.length,
      rowsChanged: changed.length,
      leaks: leaks.length + [...logLeaks.values()].reduce((s, n) => s + n, 0) + logMarkers.length,
      pageHeaders: pageHeaders ? 'ok' : 'missing',
      corsGrants,
      seconds: secondsSince(started),
    });
    for (const line of wrong.slice(0, 20))
      process.stdout.write(`[reliability] operator-api wrong: ${line}\n`);

    expect(routes.length).toBeGreaterThan(50);
    expect(guarded).toEqual(OWNER_ONLY);
    expect(wrong).toEqual([]);
    expect(changed).toEqual([]);
    expect(leaks).toEqual([]);
    expect([...logLeaks.keys()]).toEqual([]);
    expect(logMarkers).toEqual([]);
    expect(pageHeaders).toBe(true);
    expect(corsGrants).toBe(0);
  });
});
