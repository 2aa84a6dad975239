import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { type ConversationFixture, createConversation } from '../conversations';
import { adminSql, createTenant, type TenantFixture } from '../fixtures';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

const CASES = [
  { screen: 'desktop', locale: 'en-US', lang: 'en' },
  { screen: 'desktop', locale: 'ar', lang: 'ar' },
  { screen: 'phone', locale: 'en-US', lang: 'en' },
  { screen: 'phone', locale: 'ar', lang: 'ar' },
] as const;

/** What the page says, in the two languages the cases use (a missing translation fails). */
const WORDS = {
  en: {
    priceReason: 'Asked about a price or a service and did not book.',
    recallReason: 'Due back for a service they had before.',
    skipped: 'Skipped',
    open: 'Open',
    decidedByYou: 'Decided by you',
    scanFound: 'Scan done. New follow-ups: 1.',
    emptyExplains: 'Nothing is sent to a customer from this list.',
    accepted: 'Accepted',
    seeDraft: 'See the draft',
    writing: 'the AI is writing the message',
    last30: 'Last 30 days',
    emptyExplainsWrite: 'it waits in the chat for approval',
    drafted: 'Drafted',
    proposed: 'a proposal with the next free times is in the chat',
    noTimes: 'No times to propose',
  },
  ar: {
    priceReason: 'سأل عن سعر أو خدمة ولم يحجز.',
    recallReason: 'حان موعد عودته لخدمة حصل عليها من قبل.',
    skipped: 'متخطاة',
    open: 'مفتوحة',
    decidedByYou: 'قررتَ فيها أنت',
    scanFound: 'اكتمل البحث. متابعات جديدة: 1.',
    emptyExplains: 'لا يُرسل شيء إلى أي عميل من هذه القائمة.',
    accepted: 'مقبولة',
    seeDraft: 'عرض المسودة',
    writing: 'يكتب الذكاء الاصطناعي الرسالة',
    last30: 'آخر 30 يومًا',
    emptyExplainsWrite: 'تنتظر موافقتك في المحادثة',
    drafted: 'كُتبت مسودتها',
    proposed: 'الاقتراح بأقرب المواعيد المتاحة في المحادثة',
    noTimes: 'لا توجد مواعيد لاقتراحها',
  },
} as const;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** More open ones than the view's first page (20): "Load more" has something to load. */
const FILLERS = 18;

type Kind = 'price_no_booking' | 'recall_due' | 'no_show_or_cancelled' | 'quiet_after_handoff';
/** What the scan suggests for each kind (db/opportunities.ts SUGGESTED_ACTION). */
const SUGGESTED: Record<Kind, string> = {
  price_no_booking: 'offer_booking',
  recall_due: 'offer_recall_appointment',
  no_show_or_cancelled: 'offer_new_appointment',
  quiet_after_handoff: 'reply_to_customer',
};

async function addOpportunity(
  sql: postgres.Sql,
  t: TenantFixture,
  chat: ConversationFixture,
  o: { kind: Kind; evidence: string; foundAgo: number; status?: 'open' | 'expired' },
): Promise<string> {
  const found = new Date(Date.now() - o.foundAgo);
  const [row] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
      evidence_id, evidence_text, suggested_action, status, decided_at, created_at)
    values (${t.tenantId}, ${chat.contactId}, ${chat.conversationId}, ${o.kind},
      ${crypto.randomUUID()}, ${o.evidence}, ${SUGGESTED[o.kind]}, ${o.status ?? 'open'},
      ${o.status === 'expired' ? new Date() : null}, ${found})
    returning id`;
  return row?.id as string;
}

/**
 * A business with follow-ups to decide on: four named customers (one per kind, on three
 * channels), fillers beyond the first page, an expired one, and a customer who asked a price five
 * days ago that no scan has found yet.
 */
async function seedBusiness(sql: postgres.Sql, name: string) {
  const t = await createTenant(sql, name);
  await givePassword(sql, t.owner.id);
  await givePassword(sql, t.agent.id);
  const lucia = await createConversation(sql, t, { name: 'Lucía Precio' });
  const omar = await createConversation(sql, t, { name: 'Omar Recall' });
  const nadia = await createConversation(sql, t, { name: 'Nadia Missed', channel: 'messenger' });
  const ines = await createConversation(sql, t, { name: 'Inés Waiting', channel: 'instagram' });
  const ids = {
    lucia: await addOpportunity(sql, t, lucia, {
      kind: 'price_no_booking',
      evidence: '¿Cuánto cuesta el tinte?',
      foundAgo: HOUR,
    }),
    omar: await addOpportunity(sql, t, omar, {
      kind: 'recall_due',
      evidence: 'Limpieza · 2026-10-01 10:00',
      foundAgo: 2 * HOUR,
    }),
    nadia: await addOpportunity(sql, t, nadia, {
      kind: 'no_show_or_cancelled',
      evidence: 'Revisión · 2026-11-20 17:30 · no_show',
      foundAgo: 3 * HOUR,
    }),
    ines: await addOpportunity(sql, t, ines, {
      kind: 'quiet_after_handoff',
      evidence: 'هل من أحد هنا؟',
      foundAgo: 4 * HOUR,
    }),
  };
  for (let i = 0; i < FILLERS; i++) {
    const filler = await createConversation(sql, t, { name: `Filler ${i + 1}` });
    await addOpportunity(sql, t, filler, {
      kind: 'price_no_booking',
      evidence: `Price question ${i + 1}`,
      foundAgo: DAY + i * HOUR,
    });
  }
  const old = await createConversation(sql, t, { name: 'Old Expired' });
  await addOpportunity(sql, t, old, {
    kind: 'price_no_booking',
    evidence: 'Too late',
    foundAgo: 20 * DAY,
    status: 'expired',
  });
  // A price question five days ago and no booking since: what "Scan now" finds.
  const asked = new Date(Date.now() - 5 * DAY);
  const scanned = await createConversation(sql, t, {
    name: 'Sara Scan',
    lastInboundAt: asked,
    now: asked,
  });
  await sql`update messages set content = '¿Cuánto cuesta la limpieza?'
    where id = ${scanned.inbound.id}`;
  await sql`update conversations set last_message_at = ${asked}
    where id = ${scanned.conversationId}`;
  const drafted = await followUpHistory(sql, t);
  return { t, ids, chats: { lucia, omar, nadia, ines, scanned, drafted } };
}

/**
 * What the metrics count beyond the open ones: a follow-up sent two days ago that the customer
 * replied to, and one the agent has written (`drafted`, its draft pending in the chat; the
 * business answers in `auto` mode, so only the follow-up makes it a draft).
 */
async function followUpHistory(sql: postgres.Sql, t: TenantFixture) {
  const replied = await createConversation(sql, t, {
    name: 'Rita Replied',
    now: new Date(Date.now() - 4 * DAY),
  });
  const [sent] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
      evidence_id, evidence_text, suggested_action, status, decided_at, decided_via, created_at)
    values (${t.tenantId}, ${replied.contactId}, ${replied.conversationId}, 'price_no_booking',
      ${replied.inbound.id}, 'Hola', 'offer_booking', 'sent', ${new Date(Date.now() - 3 * DAY)},
      'operator_api', ${new Date(Date.now() - 3 * DAY)}) returning id`;
  await sql`insert into opportunity_events (tenant_id, opportunity_id, event, actor, created_at)
    values (${t.tenantId}, ${sent?.id}, 'sent', 'system', ${new Date(Date.now() - 2 * DAY)})`;
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${replied.conversationId}, ${t.accounts.whatsapp.id}, 'inbound', 'user',
      'text', 'Sí, gracias', ${`wamid.REPLIED${crypto.randomUUID()}`}, ${new Date(Date.now() - DAY)},
      'received')`;
  const drafted = await createConversation(sql, t, { name: 'Dora Drafted' });
  const text = 'Hola Dora, ¿te reservo la limpieza la semana que viene?';
  const [draft] = await sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id,
      message, preview)
    values (${t.tenantId}, ${drafted.conversationId}, ${`opp-${crypto.randomUUID()}`},
      ${sql.json({ type: 'text', text })}, ${text}) returning id`;
  await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind, evidence_id,
      evidence_text, suggested_action, status, decided_at, decided_via, draft_id, created_at)
    values (${t.tenantId}, ${drafted.contactId}, ${drafted.conversationId}, 'recall_due',
      ${crypto.randomUUID()}, 'Limpieza · 2026-06-01 10:00', 'offer_recall_appointment', 'drafted',
      ${new Date(Date.now() - HOUR)}, 'operator_api', ${draft?.id}, ${new Date(Date.now() - 5 * DAY)})`;
  return { ...drafted, draftText: text };
}

const item = (page: Page, name: string) => page.locator('#follow-ups-list > li', { hasText: name });

/**
 * The follow-ups view in Chromium against the real Worker: the open opportunities newest first
 * with their reason, evidence, channel and time; the counts by status; load more; skip (asked
 * first, kept once, then skipped: in the database with who decided); the status filter and its
 * empty state; "Scan now" for the owner; opening a chat from one. Desktop and phone, English and
 * Arabic, axe on each; an agent sees the list but no "Scan now".
 */
describe.skipIf(!haveChromium)('follow-ups on the operator page in Chromium', () => {
  let sql: postgres.Sql;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    worker = await startWorkerd({ SUPABASE_URL: auth.url });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await auth?.close();
    await sql?.end();
  });

  const stored = async (id: string) => {
    const [row] = await sql`select status, decided_by_user_id from opportunities where id = ${id}`;
    return row as { status: string; decided_by_user_id: string | null };
  };

  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: list, counts, load more, skip, filter, scan now, open a chat`, async () => {
      const words = WORDS[c.lang];
      const { t, ids, chats } = await seedBusiness(sql, `Follow-ups ${c.screen} ${c.lang}`);
      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      const page = await context.newPage();
      await signIn(page, worker.url, t.owner.email);
      expect(await page.getAttribute('html', 'dir')).toBe(c.lang === 'ar' ? 'rtl' : 'ltr');

      await page.click('#view-follow-ups');
      await page.waitForSelector('#follow-ups-list');
      expect(page.url()).toContain('#follow-ups');

      // Newest first: the first page of 20, the four named ones on top.
      await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(20);
      const names = await page.locator('#follow-ups-list .follow-up-name').allTextContents();
      expect(names.slice(0, 4)).toEqual([
        'Lucía Precio',
        'Omar Recall',
        'Nadia Missed',
        'Inés Waiting',
      ]);
      const lucia = item(page, 'Lucía Precio');
      expect(await lucia.locator('.follow-up-reason').textContent()).toBe(words.priceReason);
      expect(await lucia.locator('.follow-up-evidence-text').textContent()).toBe(
        '¿Cuánto cuesta el tinte?',
      );
      // The customer's words in their own direction, whatever the page's.
      const direction = (name: string) =>
        item(page, name)
          .locator('.follow-up-evidence-text')
          .evaluate((el) => getComputedStyle(el).direction);
      expect(await direction('Lucía Precio')).toBe('ltr');
      expect(await direction('Inés Waiting')).toBe('rtl');
      expect(await lucia.locator('.follow-up-channel').textContent()).toBe('WhatsApp');
      expect(await item(page, 'Nadia Missed').locator('.follow-up-channel').textContent()).toBe(
        'Messenger',
      );
      expect(await item(page, 'Inés Waiting').locator('.follow-up-channel').textContent()).toBe(
        'Instagram',
      );
      const [found] = await sql<{ created_at: Date }[]>`select created_at from opportunities
        where id = ${ids.lucia}`;
      expect(await lucia.locator('time').first().getAttribute('datetime')).toBe(
        found?.created_at.toISOString(),
      );
      // The counts by status, from the summary route.
      const count = (status: string) =>
        page.locator(`#follow-ups-counts li[data-status="${status}"] strong`).textContent();
      await expect.poll(() => count('open')).toBe(String(4 + FILLERS));
      expect(await count('expired')).toBe('1');
      expect(await count('skipped')).toBe('0');
      // The last 30 days' metrics: all 25 found (the sent and the drafted ones among them), 2
      // accepted, 1 sent, and its customer replied; nobody booked.
      const metric = (name: string) =>
        page.locator(`#follow-ups-metrics li[data-metric="${name}"] strong`).textContent();
      expect(await page.textContent('#follow-ups-metrics-title')).toBe(words.last30);
      expect(
        await Promise.all(['found', 'accepted', 'sent', 'replied', 'booked'].map(metric)),
      ).toEqual(['25', '2', '1', '1', '0']);

      await page.click('#follow-ups-more');
      await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(4 + FILLERS);
      expect(await page.isVisible('#follow-ups-more')).toBe(false);

      await page.locator('#follow-ups').evaluate((el) => el.scrollTo(0, 0));
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/follow-ups-${c.screen}-${c.lang}.png` });
      if (c.screen === 'phone') {
        const boxes = await page
          .locator('#follow-ups button, #follow-ups select')
          .evaluateAll((els) =>
            els
              .filter((e) => (e as HTMLElement).offsetParent !== null)
              .map((e) => e.getBoundingClientRect()),
          );
        expect(boxes.length).toBeGreaterThan(0);
        for (const box of boxes) {
          expect(box.height).toBeGreaterThanOrEqual(44);
          expect(box.width).toBeGreaterThanOrEqual(44);
        }
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          SCREENS.phone.width,
        );
      }

      // Skip asks first: "Keep" leaves it open, focus back on Skip.
      const omar = item(page, 'Omar Recall');
      expect(await omar.locator('.follow-up-reason').textContent()).toBe(words.recallReason);
      await omar.locator('.follow-up-skip').click();
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.className ?? ''))
        .toContain('follow-up-skip-yes');
      await page.screenshot({ path: `test-results/follow-ups-skip-${c.screen}-${c.lang}.png` });
      await omar.locator('.follow-up-keep').click();
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.className ?? ''))
        .toBe('follow-up-skip');
      expect(await stored(ids.omar)).toEqual({ status: 'open', decided_by_user_id: null });

      // Then skipped for good: recorded with who decided; the item and the counts say so.
      await omar.locator('.follow-up-skip').click();
      await omar.locator('.follow-up-skip-yes').click();
      await expect
        .poll(() => stored(ids.omar))
        .toEqual({ status: 'skipped', decided_by_user_id: t.owner.id });
      await expect.poll(() => omar.locator('.follow-up-status').textContent()).toBe(words.skipped);
      expect(await omar.locator('.follow-up-skip').count()).toBe(0);
      expect(await page.textContent('#follow-ups-result')).toContain('Omar Recall');
      await expect.poll(() => count('skipped')).toBe('1');
      expect(await count('open')).toBe(String(3 + FILLERS));

      // The skipped filter: only Omar, decided by this operator.
      await page.selectOption('#follow-ups-status', 'skipped');
      await expect
        .poll(() => page.locator('#follow-ups-list .follow-up-name').allTextContents())
        .toEqual(['Omar Recall']);
      expect(await item(page, 'Omar Recall').locator('.follow-up-when').textContent()).toContain(
        words.decidedByYou,
      );
      // A status with none: the empty state says what follow-ups are.
      await page.selectOption('#follow-ups-status', 'accepted');
      await page.waitForSelector('#follow-ups-empty');
      expect(await page.textContent('#follow-ups-empty')).toContain(words.emptyExplains);
      expect(await page.textContent('#follow-ups-empty')).toContain(words.emptyExplainsWrite);
      expect(await page.locator('#follow-ups-list').count()).toBe(0);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/follow-ups-empty-${c.screen}-${c.lang}.png` });
      // All of them: the skipped and the expired ones too.
      await page.selectOption('#follow-ups-status', '');
      await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(20);

      // Write a message: the agent is asked to write (accepted, by this operator); the item says
      // so and now leads to the chat where the draft will wait; the counts and metrics follow.
      await page.selectOption('#follow-ups-status', 'open');
      const nadia = item(page, 'Nadia Missed');
      await nadia.locator('.follow-up-write').click();
      await expect
        .poll(() => stored(ids.nadia))
        .toEqual({ status: 'accepted', decided_by_user_id: t.owner.id });
      await expect
        .poll(() => nadia.locator('.follow-up-status').textContent())
        .toBe(words.accepted);
      expect(await nadia.locator('.follow-up-write').count()).toBe(0);
      expect(await nadia.locator('.follow-up-skip').count()).toBe(0);
      expect(await nadia.locator('.follow-up-open').textContent()).toBe(words.seeDraft);
      const said = await page.textContent('#follow-ups-result');
      expect(said).toContain('Nadia Missed');
      expect(said).toContain(words.writing);
      await expect.poll(() => metric('accepted')).toBe('3');
      expect(await count('open')).toBe(String(2 + FILLERS));
      await nadia.scrollIntoViewIfNeeded();
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/follow-ups-write-${c.screen}-${c.lang}.png` });

      // Scan now (the owner): what it found is said, and listed first among the open ones.
      await page.click('#follow-ups-scan');
      await expect.poll(() => page.textContent('#follow-ups-result')).toBe(words.scanFound);
      await expect
        .poll(() => page.locator('#follow-ups-list .follow-up-name').first().textContent())
        .toBe('Sara Scan');
      await expect.poll(() => count('open')).toBe(String(3 + FILLERS));
      expect(
        await sql`select kind, status from opportunities where contact_id = ${chats.scanned.contactId}`,
      ).toEqual([{ kind: 'price_no_booking', status: 'open' }]);
      await page.screenshot({ path: `test-results/follow-ups-scanned-${c.screen}-${c.lang}.png` });

      // Open chat: the inbox with that conversation open (on a phone, the thread view).
      await item(page, 'Lucía Precio').locator('.follow-up-open').click();
      await page.waitForSelector('#thread', { state: 'visible' });
      await expect.poll(() => page.textContent('#thread-name')).toBe('Lucía Precio');
      expect(await page.getAttribute('#view-inbox', 'aria-pressed')).toBe('true');
      expect(await page.isVisible('#follow-ups')).toBe(false);
      await context.close();
    });
  }

  it('an agent sees the follow-ups and can skip one, but has no "Scan now"; a drafted one leads to its draft', async () => {
    const { t, ids, chats } = await seedBusiness(sql, 'Follow-ups agent');
    const context = await browser.newContext({ locale: 'en-US', viewport: SCREENS.desktop });
    const page = await context.newPage();
    await signIn(page, worker.url, t.agent.email);
    await page.click('#view-follow-ups');
    await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(20);
    expect(await page.locator('#follow-ups-scan').count()).toBe(0);
    const nadia = item(page, 'Nadia Missed');
    await nadia.locator('.follow-up-skip').click();
    await nadia.locator('.follow-up-skip-yes').click();
    await expect
      .poll(() => stored(ids.nadia))
      .toEqual({ status: 'skipped', decided_by_user_id: t.agent.id });
    await expectAccessible(page);

    // The drafted one: "See the draft" opens its chat, where the draft waits for approval (the
    // business answers in auto mode; the follow-up's draft shows all the same).
    await page.selectOption('#follow-ups-status', 'drafted');
    await expect
      .poll(() => page.locator('#follow-ups-list .follow-up-name').allTextContents())
      .toEqual(['Dora Drafted']);
    const dora = item(page, 'Dora Drafted');
    expect(await dora.locator('.follow-up-write').count()).toBe(0);
    await dora.locator('.follow-up-open').click();
    await expect.poll(() => page.textContent('#thread-name')).toBe('Dora Drafted');
    await page.waitForSelector('#drafts');
    expect(await page.textContent('#drafts')).toContain(chats.drafted.draftText);
    await expectAccessible(page);
    await page.screenshot({ path: 'test-results/follow-ups-see-draft-desktop-en.png' });
    await context.close();
  });

  // opp-page-schedule: "Propose times" (POST /admin/opportunities/{id}/schedule).
  for (const c of CASES) {
    it(`${c.screen}, ${c.lang}: Propose times drafts a proposal; nothing to propose is said on the item`, async () => {
      const words = WORDS[c.lang];
      const t = await createTenant(sql, `Follow-ups propose ${c.screen} ${c.lang}`);
      await givePassword(sql, t.owner.id);
      // A bookable cleaning by Ana, every day: free times within the next 14 days whatever the hour.
      await sql`update tenant_settings set min_notice_minutes = 0, max_horizon_days = 366
        where tenant_id = ${t.tenantId}`;
      const [service] = await sql`insert into services (tenant_id, name, duration_minutes)
        values (${t.tenantId}, 'Limpieza dental', 30) returning id`;
      const [ana] =
        await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ana') returning id`;
      await sql`insert into service_staff (tenant_id, service_id, staff_id)
        values (${t.tenantId}, ${service?.id}, ${ana?.id})`;
      for (const weekday of [1, 2, 3, 4, 5, 6, 7]) {
        await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
          values (${t.tenantId}, ${ana?.id}, ${weekday}, '09:00', '18:00')`;
      }
      // Paula's question names the service (its evidence is her message); Pedro's names none.
      const paula = await createConversation(sql, t, { name: 'Paula Propose' });
      const question = '¿Cuánto cuesta la limpieza dental?';
      await sql`update messages set content = ${question} where id = ${paula.inbound.id}`;
      const [row] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id,
          kind, evidence_id, evidence_text, suggested_action, created_at)
        values (${t.tenantId}, ${paula.contactId}, ${paula.conversationId}, 'price_no_booking',
          ${paula.inbound.id}, ${question}, 'offer_booking', ${new Date(Date.now() - HOUR)})
        returning id`;
      const paulaId = row?.id as string;
      const pedro = await createConversation(sql, t, { name: 'Pedro Nothing' });
      const pedroId = await addOpportunity(sql, t, pedro, {
        kind: 'price_no_booking',
        evidence: '¿Cuánto cuesta?',
        foundAgo: 2 * HOUR,
      });
      const ines = await createConversation(sql, t, { name: 'Inés Waiting' });
      await addOpportunity(sql, t, ines, {
        kind: 'quiet_after_handoff',
        evidence: '¿Hay alguien?',
        foundAgo: 3 * HOUR,
      });

      const context = await browser.newContext({ locale: c.locale, viewport: SCREENS[c.screen] });
      const page = await context.newPage();
      await signIn(page, worker.url, t.owner.email);
      await page.click('#view-follow-ups');
      await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(3);
      // A customer waiting for a person is not offered times.
      expect(await item(page, 'Inés Waiting').locator('.follow-up-propose').count()).toBe(0);

      // Nothing to propose (no service named): said on the item, still open.
      const pedroItem = item(page, 'Pedro Nothing');
      await pedroItem.locator('.follow-up-propose').click();
      await expect
        .poll(() => pedroItem.locator('.follow-up-propose-none').textContent())
        .toContain(words.noTimes);
      expect(await pedroItem.locator('.follow-up-propose-none').getAttribute('role')).toBe('alert');
      expect(await stored(pedroId)).toEqual({ status: 'open', decided_by_user_id: null });
      expect(await pedroItem.locator('.follow-up-write').count()).toBe(1);
      await expectAccessible(page);
      await page.screenshot({
        path: `test-results/follow-ups-propose-none-${c.screen}-${c.lang}.png`,
      });

      // Propose times: a proposal drafted for approval, by this operator; the item leads to it.
      const paulaItem = item(page, 'Paula Propose');
      await paulaItem.locator('.follow-up-propose').click();
      await expect
        .poll(() => stored(paulaId))
        .toEqual({ status: 'drafted', decided_by_user_id: t.owner.id });
      await expect
        .poll(() => paulaItem.locator('.follow-up-status').textContent())
        .toBe(words.drafted);
      expect(await paulaItem.locator('.follow-up-propose').count()).toBe(0);
      expect(await paulaItem.locator('.follow-up-write').count()).toBe(0);
      expect(await paulaItem.locator('.follow-up-open').textContent()).toBe(words.seeDraft);
      const said = await page.textContent('#follow-ups-result');
      expect(said).toContain('Paula Propose');
      expect(said).toContain(words.proposed);
      const drafts = await sql`select status, message from agent_drafts
        where conversation_id = ${paula.conversationId}`;
      expect(drafts).toEqual([
        { status: 'pending', message: expect.objectContaining({ type: 'buttons' }) },
      ]);
      expect(await sql`select id from appointments where tenant_id = ${t.tenantId}`).toEqual([]);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/follow-ups-propose-${c.screen}-${c.lang}.png` });
      if (c.screen === 'phone') {
        const box = await pedroItem.locator('.follow-up-propose').boundingBox();
        expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
          SCREENS.phone.width,
        );
      }
      await context.close();
    });
  }

  // opp-templates: a follow-up a sending rule refused says why (docs/follow-ups.md).
  it('a refused follow-up says why: the template codes in the page’s words, else the rule’s', async () => {
    const t = await createTenant(sql, 'Follow-ups refused');
    await givePassword(sql, t.owner.id);
    const refuse = async (name: string, detail: Record<string, string>) => {
      const chat = await createConversation(sql, t, { name });
      const id = await addOpportunity(sql, t, chat, {
        kind: 'price_no_booking',
        evidence: '¿Cuánto cuesta?',
        foundAgo: HOUR,
      });
      await sql`update opportunities set status = 'skipped', decided_at = now() where id = ${id}`;
      await sql`insert into opportunity_events (tenant_id, opportunity_id, event, actor, detail)
        values (${t.tenantId}, ${id}, 'refused', 'system', ${sql.json(detail)})`;
    };
    await refuse('Ana Template', { reason: 'no template fits', code: 'no_approved_template' });
    await refuse('Bea Optin', { reason: 'no opt-in', code: 'no_marketing_opt_in' });
    await refuse('Carla Stop', { reason: 'the customer opted out of messages' });
    for (const [locale, words] of [
      [
        'en-US',
        {
          template: 'no approved follow-up template fits',
          optIn: 'recorded opt-in to marketing',
          rule: 'Not sent, a sending rule refused it: the customer opted out of messages',
        },
      ],
      [
        'ar',
        {
          template: 'لا يوجد قالب متابعة معتمد مناسب',
          optIn: 'موافقة العميل المسجلة على الرسائل التسويقية',
          rule: 'لم يُرسل، منعته قاعدة إرسال: the customer opted out of messages',
        },
      ],
    ] as const) {
      const context = await browser.newContext({ locale, viewport: SCREENS.desktop });
      const page = await context.newPage();
      await signIn(page, worker.url, t.owner.email);
      await page.click('#view-follow-ups');
      await page.waitForSelector('#follow-ups-status');
      await page.selectOption('#follow-ups-status', 'skipped');
      await expect.poll(() => page.locator('#follow-ups-list > li').count()).toBe(3);
      const refusal = (name: string) =>
        item(page, name).locator('.follow-up-refused').textContent();
      expect(await refusal('Ana Template')).toContain(words.template);
      expect(await refusal('Bea Optin')).toContain(words.optIn);
      expect(await refusal('Carla Stop')).toBe(words.rule);
      await expectAccessible(page);
      await page.screenshot({ path: `test-results/follow-ups-refused-${locale}.png` });
      await context.close();
    }
  });
});
