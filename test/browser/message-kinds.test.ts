import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeMetaBody,
  signMetaBody,
  type WhatsAppMessageInput,
  whatsappMessageBody,
} from '../../dev/meta-payloads';
import { type MetaGraphStandIn, startMetaGraph } from '../../dev/stand-ins/meta-graph';
import { type QStashStandIn, startQStash } from '../../dev/stand-ins/qstash';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { startUpstashRedis, type UpstashRedisStandIn } from '../../dev/stand-ins/upstash-redis';
import { chromiumAvailable, launchChromium } from '../chromium';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET, testBindings } from '../harness';
import { customerPhone, waNumber } from '../meta-webhooks';
import { must } from '../must';
import { tinyPng } from '../png';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { cspViolations, expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

const WORDS = {
  en: {
    chose: 'Chose:',
    staff: 'Staff',
    simulated: 'Simulated: live sending is off, the customer did not get this.',
    voiceNote: 'voice note',
  },
  ar: {
    chose: 'اختار:',
    staff: 'موظف',
    simulated: 'محاكاة: الإرسال الفعلي متوقف، ولم تصل هذه الرسالة إلى العميل.',
    voiceNote: 'رسالة صوتية',
  },
} as const;

const FAILED_REASON = 'More than 24 hours have passed since the customer last replied';

/**
 * Every kind of message an operator meets, in one customer's chat (the customer's media through
 * the real webhook and media-download job; our interactive, template, failed and simulated sends
 * in SQL) and in a staff chat with an approval card, on a laptop and a phone, in English and
 * Arabic.
 */
describe.skipIf(!haveChromium)('every kind of message in the thread, in Chromium', () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let redis: UpstashRedisStandIn;
  let qstash: QStashStandIn;
  let graph: MetaGraphStandIn;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;
  const customer = customerPhone();
  const staffPhone = customerPhone();

  async function webhook(from: string, name: string, message: WhatsAppMessageInput) {
    const raw = encodeMetaBody(whatsappMessageBody({ ...waNumber(tenant), from, name, message }));
    const res = await fetch(`${worker.url}/webhooks/meta`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signMetaBody(raw, TEST_APP_SECRET),
      },
      body: raw,
    });
    expect(res.status).toBe(200);
  }

  async function conversationOf(phone: string): Promise<string> {
    const [row] = await sql`select c.id from conversations c join contacts k on k.id = c.contact_id
      where c.tenant_id = ${tenant.tenantId} and k.external_user_id = ${phone}`;
    return must(row, `the conversation with ${phone}`).id as string;
  }

  /** One of our sends, as the send path stores it (`payload.message`), `seconds` from now. */
  async function sent(
    conversationId: string,
    seconds: number,
    row: {
      type: string;
      content: string;
      status: string;
      message: Record<string, unknown>;
      simulated?: boolean;
      errorReason?: string;
      sender?: string;
    },
  ) {
    const payload = { message: row.message, ...(row.simulated ? { simulated: true } : {}) };
    const [inserted] =
      await sql`insert into messages (tenant_id, conversation_id, channel_account_id,
        direction, sender, type, content, payload, provider_timestamp, status, error_code, error_reason)
      values (${tenant.tenantId}, ${conversationId}, ${tenant.accounts.whatsapp.id}, 'outbound',
        ${row.sender ?? 'agent'}, ${row.type}, ${row.content}, ${sql.json(payload as never)},
        now() + make_interval(secs => ${seconds}), ${row.status},
        ${row.errorReason ? '131047' : null}, ${row.errorReason ?? null})
      returning id`;
    return must(inserted, 'the sent message').id as string;
  }

  beforeAll(async () => {
    mkdirSync('test-results', { recursive: true });
    sql = adminSql();
    tenant = await createTenant(sql, 'Kinds Clinic');
    await givePassword(sql, tenant.owner.id);
    await sql`update tenant_settings set reply_mode = 'off',
        escalation_contacts = ${sql.json([{ name: 'Marta', whatsapp: `+${staffPhone}` }])}
      where tenant_id = ${tenant.tenantId}`;

    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    const keys = testBindings();
    redis = await startUpstashRedis({ token: keys.UPSTASH_REDIS_REST_TOKEN ?? '' });
    qstash = await startQStash({
      token: keys.QSTASH_TOKEN ?? '',
      currentSigningKey: keys.QSTASH_CURRENT_SIGNING_KEY ?? '',
      nextSigningKey: keys.QSTASH_NEXT_SIGNING_KEY ?? '',
      retryBackoffMs: () => 500,
    });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(tenant) }],
      statusProgression: false,
    });
    worker = await startWorkerd({
      SUPABASE_URL: auth.url,
      UPSTASH_REDIS_REST_URL: redis.url,
      QSTASH_URL: qstash.url,
      GRAPH_API_BASE_URL: graph.url,
    });
    browser = await launchChromium();

    // The customer's messages, through the webhook; their files through the download job.
    const png = () => graph.addMedia(tinyPng(), 'image/png');
    const bytes = (type: string) => graph.addMedia(new Uint8Array([1, 2, 3, 4]), type);
    const inbound: WhatsAppMessageInput[] = [
      { type: 'image', mediaId: png(), mimeType: 'image/png', caption: 'my x-ray' },
      { type: 'audio', mediaId: bytes('audio/ogg'), mimeType: 'audio/ogg', voice: true },
      { type: 'video', mediaId: bytes('video/mp4'), mimeType: 'video/mp4' },
      {
        type: 'document',
        mediaId: bytes('application/pdf'),
        mimeType: 'application/pdf',
        filename: 'invoice-4521.pdf',
      },
      // Stickers are WebP; the browser sniffs these PNG bytes all the same.
      {
        type: 'sticker',
        mediaId: graph.addMedia(tinyPng(), 'image/webp'),
        mimeType: 'image/webp',
      },
      {
        type: 'location',
        latitude: 40.4168,
        longitude: -3.7038,
        name: 'Puerta del Sol',
        address: 'Madrid',
      },
      {
        type: 'contacts',
        contacts: [
          { name: { formatted_name: 'Dr. Ruiz' }, phones: [{ phone: '+34 600 111 222' }] },
        ],
      },
      { type: 'interactive', buttonReply: { id: 'day:tue', title: 'Tuesday' } },
    ];
    for (const message of inbound) await webhook(customer, 'Nadia Kinds', message);
    const conversationId = await conversationOf(customer);
    // expect.poll is for tests only: a plain wait for the five files.
    for (let stored = 0, tries = 0; stored < 5; tries++) {
      if (tries > 200) throw new Error(`only ${stored} of the customer's 5 files were stored`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [row] = await sql`select count(*)::int as n from messages
        where conversation_id = ${conversationId} and attachments->0->>'storageKey' is not null`;
      stored = row?.n ?? 0;
    }

    // Ours: buttons, a list, a template, one refused by Meta, one sent with live sending off.
    await sent(conversationId, 1, {
      type: 'buttons',
      content: 'Which day suits you?',
      status: 'read',
      message: {
        type: 'buttons',
        body: 'Which day suits you?',
        buttons: [
          { id: 'day:mon', title: 'Monday' },
          { id: 'day:tue', title: 'Tuesday' },
        ],
      },
    });
    await sent(conversationId, 2, {
      type: 'list',
      content: 'Pick a service',
      status: 'delivered',
      message: {
        type: 'list',
        body: 'Pick a service',
        button: 'Services',
        sections: [
          { title: 'Hygiene', rows: [{ id: 'clean', title: 'Cleaning', description: '30 min' }] },
          { title: 'Doctor', rows: [{ id: 'check', title: 'Check-up' }] },
        ],
      },
    });
    await sent(conversationId, 3, {
      type: 'template',
      content: 'Hello Nadia, your appointment is on Tuesday at 10:00.',
      status: 'sent',
      sender: 'operator',
      message: { type: 'template', name: 'appointment_reminder', language: 'en' },
    });
    await sent(conversationId, 4, {
      type: 'text',
      content: 'Are you still there?',
      status: 'failed',
      sender: 'operator',
      errorReason: FAILED_REASON,
      message: { type: 'text', text: 'Are you still there?' },
    });
    await sent(conversationId, 5, {
      type: 'text',
      content: 'See you on Tuesday!',
      status: 'sent',
      simulated: true,
      message: { type: 'text', text: 'See you on Tuesday!' },
    });

    // The staff chat: Marta wrote, and an approval card about a draft already approved failed.
    await webhook(staffPhone, 'Marta', { type: 'text', text: 'ok' });
    const staffChat = await conversationOf(staffPhone);
    const [draft] = await sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id,
        message, preview, status, decided_at)
      values (${tenant.tenantId}, ${conversationId}, 'turn-kinds', ${sql.json({ type: 'text', text: 'Tuesday 10:00 works' })},
        'Tuesday 10:00 works', 'approved', now())
      returning id`;
    const draftId = must(draft, 'the draft').id as string;
    await sent(staffChat, 6, {
      type: 'buttons',
      content: 'Draft reply to Nadia Kinds on WhatsApp:\n\nTuesday 10:00 works',
      status: 'failed',
      sender: 'system',
      errorReason: FAILED_REASON,
      message: {
        type: 'buttons',
        body: 'Draft reply to Nadia Kinds on WhatsApp:\n\nTuesday 10:00 works',
        buttons: [
          { id: `msg:${draftId}:approve`, title: 'Approve' },
          { id: `msg:${draftId}:edit`, title: 'Edit' },
          { id: `msg:${draftId}:cancel`, title: 'Cancel' },
        ],
      },
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await Promise.all([auth?.close(), redis?.close(), qstash?.close(), graph?.close()]);
    await sql?.end();
  });

  /** What the Content-Security-Policy refused on this test's pages: nothing, or the page broke. */
  let refused: string[][] = [];
  afterEach(() => {
    const all = refused.flat();
    refused = [];
    expect(all).toEqual([]);
  });

  async function newPage(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    const page = await context.newPage();
    refused.push(cspViolations(page));
    return page;
  }

  const noWiderThanScreen = async (page: Page, screen: keyof typeof SCREENS) =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      SCREENS[screen].width,
    );

  for (const screen of ['desktop', 'phone'] as const) {
    for (const [locale, name] of [
      ['en-US', 'en'],
      ['ar', 'ar'],
    ] as const) {
      const words = WORDS[name];

      it(`${screen}, ${locale}: media, choices, template, failed and simulated sends, a staff chat`, async () => {
        const page = await newPage(screen, locale);
        await signIn(page, worker.url, tenant.owner.email);
        const list = page.locator('#chat-list');
        // The staff chat says so in the list; the customer's does not.
        const staffRow = list.locator('li', { hasText: 'Marta' });
        await expect.poll(() => staffRow.locator('.badge.staff').textContent()).toBe(words.staff);
        expect(
          await list.locator('li', { hasText: 'Nadia Kinds' }).locator('.badge.staff').count(),
        ).toBe(0);

        await list.getByText('Nadia Kinds').click();
        const messages = page.locator('#messages');
        // Pictures, players and the files' links, all fetched with the operator's token.
        const image = messages.locator('img.preview-image:not(.sticker)');
        await expect
          .poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth).catch(() => 0), {
            timeout: 15_000,
          })
          .toBeGreaterThan(0);
        expect(await image.getAttribute('alt')).toBe('my x-ray');
        await expect.poll(() => messages.locator('img.sticker').count()).toBe(1);
        const audio = messages.locator('audio.player');
        await expect.poll(() => audio.count()).toBe(1);
        expect(await audio.getAttribute('src')).toMatch(/^blob:/);
        expect(await audio.getAttribute('aria-label')).toBe(words.voiceNote);
        await expect.poll(() => messages.locator('video.player').count()).toBe(1);
        expect(
          await messages.locator('a.file-link', { hasText: 'invoice-4521.pdf' }).textContent(),
        ).toMatch(/invoice-4521\.pdf \(.+\)/);
        const location = messages.locator('a.location');
        expect(await location.textContent()).toContain('Puerta del Sol, Madrid');
        expect(await location.getAttribute('href')).toContain('mlat=40.4168&mlon=-3.7038');
        expect(await messages.locator('.contact-cards li').textContent()).toContain('Dr. Ruiz');
        expect(await messages.locator('.contact-cards .phone').textContent()).toBe(
          '+34 600 111 222',
        );
        // What we offered, as chips that are not buttons; what the customer tapped.
        const buttons = messages.locator('.msg', { hasText: 'Which day suits you?' });
        expect(await buttons.locator('.choices li').allTextContents()).toEqual([
          'Monday',
          'Tuesday',
        ]);
        expect(await buttons.getByRole('button').count()).toBe(0);
        const listRows = messages
          .locator('.msg', { hasText: 'Pick a service' })
          .locator('.choices li');
        expect(await listRows.allTextContents()).toEqual(['Cleaning30 min', 'Check-up']);
        expect(
          await messages.locator('.msg.inbound .text', { hasText: 'Tuesday' }).textContent(),
        ).toBe(`${words.chose} Tuesday`);
        expect(await messages.textContent()).toContain(
          'Hello Nadia, your appointment is on Tuesday at 10:00.',
        );
        // A failed send's reason is on screen, with its Retry; a simulated one says it never left.
        const failed = messages.locator('.msg', { hasText: 'Are you still there?' });
        expect(await failed.locator('.error').textContent()).toBe(FAILED_REASON);
        expect(await failed.getByRole('button').count()).toBe(1);
        const simulated = messages.locator('.msg', { hasText: 'See you on Tuesday!' });
        expect(await simulated.locator('.simulated-note').textContent()).toBe(words.simulated);
        // Nothing reads as a raw type: no "[audio]" or the like.
        expect(await messages.textContent()).not.toMatch(/\[(audio|video|sticker|document)\]/);
        await noWiderThanScreen(page, screen);
        await expectAccessible(page);
        // The thread scrolls by itself: its top (the customer's media), then its end (our sends).
        await messages.evaluate((el) => {
          el.scrollTop = 0;
        });
        await page.screenshot({ path: `test-results/message-kinds-${screen}-${name}.png` });
        await messages.evaluate((el) => {
          el.scrollTop = el.scrollHeight;
        });
        await page.screenshot({ path: `test-results/message-kinds-end-${screen}-${name}.png` });

        // The staff chat: labelled in the header, and its decided approval card is not resent.
        if (screen === 'phone') await page.locator('.thread-header .back').click();
        await list.getByText('Marta').click();
        await expect.poll(() => page.textContent('#thread-staff')).toBe(words.staff);
        const card = messages.locator('.msg', { hasText: 'Draft reply to Nadia Kinds' });
        await expect
          .poll(() => card.locator('.choices li').allTextContents())
          .toEqual(['Approve', 'Edit', 'Cancel']);
        // Mark-read calls go to Meta too (opening a chat): only sent cards count.
        const cardsSent = () =>
          graph.requests.filter((r) => (r.body as { type?: string } | null)?.type === 'interactive')
            .length;
        const sends = cardsSent();
        await card.getByRole('button').click();
        await expect
          .poll(() => page.textContent('#thread-error'))
          .toBe(
            'This approval card asks about a draft that is already approved; it is not sent again.',
          );
        expect(cardsSent()).toBe(sends);
        await noWiderThanScreen(page, screen);
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/message-kinds-staff-${screen}-${name}.png` });
        await page.context().close();
      }, 90_000);
    }
  }
});
