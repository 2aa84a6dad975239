import fc from 'fast-check';
import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { encodeMetaBody, signMetaBody } from '../../dev/meta-payloads';
import type { TenantFixture } from '../../test/fixtures';
import { TEST_APP_SECRET } from '../../test/harness';
import { it, must } from '../../test/it';
import { WEBHOOK_URL } from '../../test/meta-webhooks';
import { eventIdOf } from '.';

/**
 * Property tests over what Meta (or anyone) might POST: whatever the body and headers, the answer
 * is never a 5xx (only an unreachable database may cause one), a correctly signed body is always
 * kept, and nothing is ever stored without a valid signature.
 */
describe('POST /webhooks/meta under fuzzing', () => {
  /** Events the signed property stored: the unsigned one may generate the same bytes. */
  const signedEventIds = new Set<string>();

  async function tenantMessages(sql: postgres.Sql, t: TenantFixture): Promise<number> {
    const [row] =
      await sql`select count(*)::int as n from messages where tenant_id = ${t.tenantId}`;
    return must(row, 'the count').n as number;
  }

  /**
   * Meta-shaped bodies: every field is usually valid (so bodies reach deep into ingestion and the
   * database) and sometimes anything at all (wrong types, NUL, huge or absurd values).
   */
  function metaLikeBody(t: TenantFixture) {
    const wild = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '😀', '٣', 'x'.repeat(600), ''),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const mostly = <T>(valid: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: wild, weight: 1 });
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('hola\u0000', 'مرحبا', '😀 / \\ "quoted"'),
    );
    const digits = fc.stringMatching(/^[1-9]\d{6,14}$/);
    const seconds = fc.integer({ min: 1_600_000_000, max: 1_900_000_000 });
    const timestamp = fc.oneof(
      { arbitrary: seconds.map(String), weight: 6 },
      { arbitrary: fc.constantFrom('99999999999999', '-5', 'NaN', '', '1e9'), weight: 1 },
    );
    const waMessage = fc
      .record({
        from: mostly(digits),
        id: mostly(fc.string({ minLength: 1, maxLength: 30 }).map((x) => `wamid.${x}`)),
        timestamp,
        type: fc.constantFrom(
          'text',
          'image',
          'audio',
          'document',
          'location',
          'contacts',
          'interactive',
          'button',
          'reaction',
          'unsupported',
          'order',
        ),
        body: text,
        media: fc.record({
          id: mostly(digits),
          mime_type: mostly(fc.constantFrom('image/jpeg', 'audio/ogg')),
          caption: mostly(text),
        }),
        location: fc.record({
          latitude: mostly(fc.double({ min: -90, max: 90, noNaN: true })),
          longitude: mostly(fc.double({ min: -180, max: 180, noNaN: true })),
          name: mostly(text),
        }),
        reply: fc.record({ id: mostly(text), title: mostly(text) }),
        context: fc.option(fc.record({ id: mostly(text), forwarded: mostly(fc.boolean()) })),
      })
      .map(({ body, media, location, reply, context, ...m }) => ({
        ...m,
        ...(context ? { context } : {}),
        text: { body },
        image: media,
        audio: media,
        document: { ...media, filename: body },
        location,
        contacts: [{ name: { formatted_name: body } }],
        interactive: { type: 'button_reply', button_reply: reply },
        button: { payload: body, text: body },
        reaction: { message_id: reply.id, emoji: body.slice(0, 2) },
        unsupported: { type: body },
        order: { items: [body] },
      }));
    const status = fc.record({
      id: mostly(fc.string({ minLength: 1, maxLength: 30 })),
      status: mostly(fc.constantFrom('sent', 'delivered', 'read', 'failed', 'played', 'deleted')),
      timestamp,
      recipient_id: mostly(digits),
      errors: fc.option(
        fc.array(fc.record({ code: mostly(fc.integer()), title: mostly(text) }), { maxLength: 2 }),
      ),
    });
    const whatsapp = fc.record({
      object: fc.constant('whatsapp_business_account'),
      entry: fc.array(
        fc.record({
          id: mostly(fc.constant(t.accounts.whatsapp.wabaId)),
          changes: fc.array(
            fc.record({
              field: fc.constantFrom(
                'messages',
                'messages',
                'smb_message_echoes',
                'message_template_status_update',
                'calls',
              ),
              value: mostly(
                fc.record({
                  messaging_product: fc.constant('whatsapp'),
                  metadata: fc.record({
                    phone_number_id: mostly(fc.constant(t.accounts.whatsapp.externalId)),
                    display_phone_number: mostly(digits),
                  }),
                  contacts: mostly(
                    fc.array(
                      fc.record({
                        wa_id: mostly(digits),
                        profile: fc.record({ name: mostly(text) }),
                      }),
                      { maxLength: 2 },
                    ),
                  ),
                  messages: fc.array(waMessage, { maxLength: 4 }),
                  statuses: fc.array(status, { maxLength: 3 }),
                  message_echoes: fc.array(
                    waMessage.map((m) => ({ ...m, to: m.from })),
                    { maxLength: 2 },
                  ),
                  event: mostly(fc.constantFrom('APPROVED', 'PAUSED')),
                  message_template_id: mostly(digits),
                }),
              ),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
    const messagingEvent = fc
      .record({
        user: mostly(digits),
        account: mostly(
          fc.constantFrom(t.accounts.messenger.externalId, t.accounts.instagram.externalId),
        ),
        timestamp: mostly(fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 })),
        kind: fc.constantFrom(
          'message',
          'echo',
          'read',
          'delivery',
          'reaction',
          'postback',
          'optin',
        ),
        mid: mostly(fc.string({ minLength: 1, maxLength: 30 }).map((x) => `m_${x}`)),
        text,
        url: mostly(fc.webUrl()),
      })
      .map(({ user, account, timestamp, kind, mid, text, url }) => {
        const base = {
          sender: { id: kind === 'echo' ? account : user },
          recipient: { id: kind === 'echo' ? user : account },
          timestamp,
        };
        switch (kind) {
          case 'message':
          case 'echo':
            return {
              ...base,
              message: {
                mid,
                text,
                is_echo: kind === 'echo',
                attachments: [{ type: 'image', payload: { url } }],
              },
            };
          case 'read':
            return { ...base, read: { watermark: timestamp, mid } };
          case 'delivery':
            return { ...base, delivery: { mids: [mid], watermark: timestamp } };
          case 'reaction':
            return { ...base, reaction: { mid, action: 'react', emoji: text } };
          case 'postback':
            return { ...base, postback: { mid, title: text, payload: text } };
          default:
            return { ...base, optin: { ref: text } };
        }
      });
    const messaging = fc.record({
      object: fc.constantFrom('page', 'instagram'),
      entry: fc.array(
        fc.record({
          id: mostly(
            fc.constantFrom(t.accounts.messenger.externalId, t.accounts.instagram.externalId),
          ),
          time: mostly(fc.integer()),
          messaging: mostly(fc.array(messagingEvent, { minLength: 1, maxLength: 4 })),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
    return fc.oneof(
      { arbitrary: whatsapp, weight: 3 },
      { arbitrary: messaging, weight: 3 },
      { arbitrary: fc.jsonValue(), weight: 1 },
      { arbitrary: fc.record({ object: wild, entry: wild }), weight: 1 },
    );
  }

  /** Raw bodies: Meta-shaped JSON (escaped the way Meta escapes it, or not), any JSON, any bytes. */
  const rawBody = (t: TenantFixture) =>
    fc.oneof(
      metaLikeBody(t).map((b) => encodeMetaBody(b)),
      metaLikeBody(t).map((b) => JSON.stringify(b) ?? 'null'),
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 300 }),
    );

  it('a correctly signed body, whatever it holds: 200 and kept', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    await fc.assert(
      fc.asyncProperty(rawBody(t), async (raw) => {
        const res = await h.request(WEBHOOK_URL, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': await signMetaBody(raw, TEST_APP_SECRET),
          },
          body: raw,
        });
        expect(res.status).toBe(200);
        const { event_id, status } = (await res.json()) as { event_id: string; status: string };
        signedEventIds.add(event_id);
        expect(['processed', 'dead', 'duplicate']).toContain(status);
        const [event] =
          await sql`select outcome, reason from webhook_events where id = ${event_id}`;
        expect(['processed', 'dead']).toContain(event?.outcome);
        // Whatever passed validation, the database accepted: no item was refused on the way in.
        expect(event?.reason ?? '').not.toContain('could not be stored');
      }),
      { numRuns: 120 },
    );
    // The generator is meant to reach storage, not only the parser.
    expect(await tenantMessages(sql, t)).toBeGreaterThan(0);
    // 120 requests through the app and the database: seconds alone, longer on a loaded 2-core
    // machine; the default 30 s would fail it for the machine's load, not the code.
  }, 120_000);

  it('without a valid signature, nothing is stored and the answer is 401 (never 5xx)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const before = await tenantMessages(sql, t);
    const header = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.string().map((s) => `sha256=${s}`),
      fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
      fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .map((b) => `sha256=${Buffer.from(b).toString('hex')}`),
    );
    const otherHeaders = fc.dictionary(
      fc.stringMatching(/^x-[a-z-]{1,20}$/),
      fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
      { maxKeys: 3 },
    );
    await fc.assert(
      fc.asyncProperty(rawBody(t), header, otherHeaders, async (raw, signature, extra) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
        if (signature !== undefined) headers['x-hub-signature-256'] = signature;
        const res = await h.request(WEBHOOK_URL, { method: 'POST', headers, body: raw });
        // A random header matching by chance is a 2^-256 event.
        expect(res.status).toBe(401);
        const id = await eventIdOf(typeof raw === 'string' ? new TextEncoder().encode(raw) : raw);
        if (!signedEventIds.has(id)) {
          expect(await sql`select id from webhook_events where id = ${id}`).toEqual([]);
        }
      }),
      { numRuns: 120 },
    );
    expect(await tenantMessages(sql, t)).toBe(before);
    // 120 requests through the app and the database: seconds alone, longer on a loaded 2-core
    // machine; the default 30 s would fail it for the machine's load, not the code.
  }, 120_000);
});
