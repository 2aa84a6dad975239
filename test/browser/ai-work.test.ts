import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetaGraphStandIn, startMetaGraph } from '../../dev/stand-ins/meta-graph';
import { type QStashStandIn, startQStash } from '../../dev/stand-ins/qstash';
import { postgresUserStore, startSupabaseAuth } from '../../dev/stand-ins/supabase-auth';
import { chromiumAvailable, launchChromium } from '../chromium';
import { type ConversationFixture, createConversation } from '../conversations';
import { adminSql, createTenant, TEST_GRAPH_TOKEN, type TenantFixture } from '../fixtures';
import { TEST_APP_SECRET, testBindings } from '../harness';
import { waNumber } from '../meta-webhooks';
import { must } from '../must';
import { TEST_JWT_SECRET } from '../tokens';
import { startWorkerd } from '../workerd';
import { expectAccessible, givePassword, SCREENS, signIn } from './operator-page';

const haveChromium = chromiumAvailable('browser tests');

/** A tool answer longer than any screen is wide, without a space to break at. */
const LONG_SNIPPET = `Mon-Fri 9:00-20:00; Sat 10:00-14:00; ${'closed-on-holidays/'.repeat(30)}`;

/**
 * A reply the AI sent, with the run that wrote it: a knowledge search (its answer long), a
 * calendar tool that failed, then the text. As db/agent.ts records a finished run.
 */
async function aiReplied(
  sql: postgres.Sql,
  tenant: TenantFixture,
  chat: ConversationFixture,
  text: string,
) {
  const correlationId = `turn-${crypto.randomUUID()}`;
  const steps = [
    {
      model: 'gpt-4.1-mini-2025-04-14',
      latencyMs: 1480,
      modelMs: 1210,
      usage: { inputTokens: 1500, outputTokens: 40 },
      text: 'Let me look that up.',
      toolCalls: [
        { toolName: 'knowledge_search', input: { query: 'opening hours' } },
        { toolName: 'check_availability', input: { date: '2026-12-01', service: 'cleaning' } },
      ],
      toolResults: [
        {
          toolName: 'knowledge_search',
          output: [{ title: 'Opening hours', snippet: LONG_SNIPPET }],
          latencyMs: 35,
        },
        {
          toolName: 'check_availability',
          output: { error: 'Calendar unreachable' },
          latencyMs: 260,
        },
      ],
    },
    {
      model: 'gpt-4.1-mini-2025-04-14',
      latencyMs: 620,
      modelMs: 610,
      usage: { inputTokens: 330, outputTokens: 24 },
      text,
    },
  ];
  await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, steps, usage,
      latency_ms, outcome, started_at, finished_at)
    values (${tenant.tenantId}, ${chat.conversationId}, ${correlationId}, 'gpt-4.1-mini',
      ${sql.json(steps)}, ${sql.json({ inputTokens: 1830, outputTokens: 64, totalTokens: 1894 })},
      2140, 'replied', now() - interval '2 minutes', now() - interval '2 minutes')`;
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status, correlation_id, payload)
    values (${tenant.tenantId}, ${chat.conversationId}, ${tenant.accounts.whatsapp.id}, 'outbound',
      'agent', 'text', ${text}, ${`wamid.${crypto.randomUUID()}`}, now() - interval '2 minutes',
      'delivered', ${correlationId},
      ${sql.json({ agent: { model: 'gpt-4.1-mini', correlationId } })})`;
}

/** A later run in approval mode that left `texts` as pending drafts, in that order. */
async function aiDrafted(
  sql: postgres.Sql,
  tenant: TenantFixture,
  chat: ConversationFixture,
  texts: string[],
) {
  const correlationId = `turn-${crypto.randomUUID()}`;
  const [run] = await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model,
      steps, usage, latency_ms, outcome, finished_at)
    values (${tenant.tenantId}, ${chat.conversationId}, ${correlationId}, 'gpt-4.1-mini',
      ${sql.json(texts.map((text) => ({ text })))}, ${sql.json({ inputTokens: 900, outputTokens: 40 })},
      1200, 'replied', now()) returning id`;
  for (const [position, text] of texts.entries()) {
    await sql`insert into agent_drafts (tenant_id, conversation_id, run_id, correlation_id, position,
        message, preview)
      values (${tenant.tenantId}, ${chat.conversationId}, ${run?.id}, ${correlationId}, ${position},
        ${sql.json({ type: 'text', text })}, ${text})`;
  }
}

const WORDS = {
  en: {
    header: 'AI agent drafts replies for approval',
    why: 'Why?',
    approve: 'Approve',
    edit: 'Edit',
    cancel: 'Cancel',
    sendCorrected: 'Send corrected',
    locked: 'A person has taken over this chat',
    decided: 'This draft was already decided elsewhere',
    tokens: '1830 in / 64 out',
    stepMeta: '1.5 s, the model 1.2 s · 1500 in / 40 out tokens',
    toolTime: '35 ms',
    // 1830 input and 64 output tokens of gpt-4.1-mini at $0.40 and $1.60 per million.
    cost: 'Cost$0.000834',
  },
  ar: {
    header: 'يكتب وكيل الذكاء الاصطناعي مسودات ردود للاعتماد',
    why: 'لماذا؟',
    approve: 'اعتماد',
    edit: 'تعديل',
    cancel: 'إلغاء',
    sendCorrected: 'إرسال المصحّح',
    locked: 'تولّى شخص هذه المحادثة',
    decided: 'سبق البتّ في هذه المسودة من مكان آخر',
    tokens: 'داخلة',
    stepMeta: 'منها النموذج',
    toolTime: '35 ملّي ث',
    cost: 'التكلفة',
  },
} as const;

/**
 * The AI's work on the operator page, in Chromium against the real Worker (workerd): an AI reply
 * is marked and its "Why?" opens the run's trace (steps, tools with input and output, tokens,
 * latency) in a dialog, a full-screen sheet on a phone; in approval mode the open chat's drafts
 * wait under the thread and are approved, corrected or cancelled there. Desktop and 390×844,
 * English and Arabic, with no serious accessibility violation.
 */
describe.skipIf(!haveChromium)("the AI's work on the operator page in Chromium", () => {
  let sql: postgres.Sql;
  let tenant: TenantFixture;
  let graph: MetaGraphStandIn;
  let qstash: QStashStandIn;
  let auth: Awaited<ReturnType<typeof startSupabaseAuth>>;
  let worker: Awaited<ReturnType<typeof startWorkerd>>;
  let browser: Browser;

  beforeAll(async () => {
    sql = adminSql();
    tenant = await createTenant(sql, 'AI Work Clinic');
    await givePassword(sql, tenant.owner.id);
    await sql`update tenant_settings set reply_mode = 'approval' where tenant_id = ${tenant.tenantId}`;
    auth = await startSupabaseAuth({ jwtSecret: TEST_JWT_SECRET, users: postgresUserStore(sql) });
    graph = await startMetaGraph({
      appSecret: TEST_APP_SECRET,
      accessToken: TEST_GRAPH_TOKEN,
      accounts: [{ channel: 'whatsapp', ...waNumber(tenant) }],
      statusProgression: false,
    });
    // Approved drafts go out through the send job, as in production.
    const keys = testBindings();
    qstash = await startQStash({
      token: keys.QSTASH_TOKEN ?? '',
      currentSigningKey: keys.QSTASH_CURRENT_SIGNING_KEY ?? '',
      nextSigningKey: keys.QSTASH_NEXT_SIGNING_KEY ?? '',
      retryBackoffMs: () => 500,
    });
    worker = await startWorkerd({
      SUPABASE_URL: auth.url,
      QSTASH_URL: qstash.url,
      GRAPH_API_BASE_URL: graph.url,
    });
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await Promise.all([auth?.close(), qstash?.close(), graph?.close()]);
    await sql?.end();
  });

  async function newPage(screen: keyof typeof SCREENS, locale: string): Promise<Page> {
    const context = await browser.newContext({ locale, viewport: SCREENS[screen] });
    return context.newPage();
  }

  const noWiderThanScreen = async (page: Page, screen: keyof typeof SCREENS) =>
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      SCREENS[screen].width,
    );

  /** The texts the Graph stand-in was asked to send to this chat's customer. */
  const sentTexts = (chat: ConversationFixture) =>
    graph.requests
      .filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
      .map((r) => r.body as { to?: string; text?: { body?: string } })
      .filter((b) => b.to === chat.externalUserId)
      .map((b) => b.text?.body);

  const draftStatuses = async (chat: ConversationFixture) =>
    (
      await sql`select preview, status from agent_drafts
        where conversation_id = ${chat.conversationId} order by position`
    ).map((d) => `${d.preview}: ${d.status}`);

  for (const screen of ['desktop', 'phone'] as const) {
    for (const [locale, name] of [
      ['en-US', 'en'],
      ['ar', 'ar'],
    ] as const) {
      const words = WORDS[name];

      it(`${screen}, ${locale}: an AI reply's trace, then its drafts approved, corrected and cancelled`, async () => {
        const customer = `Sara ${screen} ${name}`;
        const chat = await createConversation(sql, tenant, { name: customer });
        await aiReplied(sql, tenant, chat, `We are open until 20:00 (${name}).`);
        await aiDrafted(sql, tenant, chat, [
          `Decided elsewhere ${name}`,
          `Approve me ${name}`,
          `Correct me ${name}`,
          `Cancel me ${name}`,
        ]);

        const page = await newPage(screen, locale);

        await signIn(page, worker.url, tenant.owner.email);
        await page.locator('#chat-list').getByText(customer).click();
        await expect.poll(() => page.textContent('#thread-name')).toBe(customer);
        // The header says the AI only drafts here.
        await expect.poll(() => page.textContent('#thread-lock')).toBe(words.header);

        // The AI's reply is marked, with its "Why?".
        const reply = page.locator('#messages .msg.ai');
        await expect.poll(() => reply.count()).toBe(1);
        const why = reply.getByRole('button', { name: words.why });
        await why.click();
        const trace = page.locator('#trace');
        await trace.waitFor({ state: 'visible' });
        await expect.poll(() => trace.textContent()).toContain('gpt-4.1-mini');
        const shown = must(await trace.textContent(), 'trace text');
        for (const expected of [
          'Let me look that up.',
          'knowledge_search',
          '"query": "opening hours"',
          'closed-on-holidays/',
          'check_availability',
          'Calendar unreachable',
          `We are open until 20:00 (${name}).`,
          words.tokens,
          // Per step its model, time and tokens; per tool its own time.
          'gpt-4.1-mini-2025-04-14',
          words.stepMeta,
          words.toolTime,
          words.cost,
        ])
          expect(shown).toContain(expected);
        // Focus moved into the dialog.
        expect(await page.evaluate(() => !!document.activeElement?.closest('#trace'))).toBe(true);
        // The long tool answer scrolls in its own box: nothing wider than the screen.
        await noWiderThanScreen(page, screen);
        const box = must(await trace.boundingBox(), 'trace box');
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(SCREENS[screen].width);
        if (screen === 'phone') {
          // A full-screen sheet.
          expect(box.width).toBe(SCREENS.phone.width);
          expect(box.height).toBe(SCREENS.phone.height);
        }
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/ai-trace-${screen}-${name}.png` });
        // Escape on a laptop, the close button on a phone; focus returns to "Why?".
        if (screen === 'desktop') await page.keyboard.press('Escape');
        else await trace.locator('.trace-close').click();
        await trace.waitFor({ state: 'hidden' });
        expect(await why.evaluate((button) => button === document.activeElement)).toBe(true);

        // The drafts wait under the thread.
        const drafts = page.locator('#drafts .draft');
        await expect.poll(() => drafts.count()).toBe(4);
        await noWiderThanScreen(page, screen);
        if (screen === 'phone') {
          const targets = await page
            .locator('#drafts button, #messages button')
            .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
          for (const target of targets) {
            expect(target.height).toBeGreaterThanOrEqual(44);
            expect(target.width).toBeGreaterThanOrEqual(44);
          }
        }
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/ai-drafts-${screen}-${name}.png` });

        // Decided elsewhere (the staff's WhatsApp card) while the page still shows it. The page's
        // drafts requests wait meanwhile, so its poll cannot take the draft away first.
        let release = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let heldRequests = 0;
        await page.route(
          (url) => url.pathname === '/admin/drafts',
          async (route) => {
            heldRequests++;
            await held;
            await route.continue();
          },
        );
        await expect.poll(() => heldRequests, { timeout: 10_000 }).toBeGreaterThan(0);
        await sql`update agent_drafts set status = 'cancelled', decided_at = now(),
            decided_via = 'whatsapp:34622000222'
          where conversation_id = ${chat.conversationId} and position = 0`;
        await drafts
          .filter({ hasText: `Decided elsewhere ${name}` })
          .getByRole('button', { name: words.approve })
          .click();
        await expect.poll(() => page.textContent('#drafts-error')).toContain(words.decided);
        // (The route stays: once released it lets every request through.)
        release();
        await expect.poll(() => drafts.count()).toBe(3);

        // Taken over: the draft is not sent, and the page says why in its language.
        await page.locator('#lock-toggle').click();
        await expect
          .poll(
            async () =>
              (await sql`select is_locked from conversations where id = ${chat.conversationId}`)[0]
                ?.is_locked,
          )
          .toBe(true);
        const first = drafts.filter({ hasText: `Approve me ${name}` });
        await first.getByRole('button', { name: words.approve }).click();
        await expect.poll(() => page.textContent('#drafts-error')).toContain(words.locked);
        expect(await draftStatuses(chat)).toContain(`Approve me ${name}: pending`);
        await page.locator('#lock-toggle').click();
        await expect.poll(() => page.textContent('#thread-lock')).toBe(words.header);

        // Approve: sent as the AI's reply; the error goes with the success.
        await first.getByRole('button', { name: words.approve }).click();
        await expect
          .poll(() => reply.filter({ hasText: `Approve me ${name}` }).count(), { timeout: 15_000 })
          .toBe(1);
        // (The poll can show the message before the approval's answer arrives.)
        await expect.poll(() => page.textContent('#drafts-error'), { timeout: 15_000 }).toBe('');

        // Edit: the corrected text is sent instead.
        // (Once editing, its text is the textarea's value, which a text filter does not see.)
        await expect.poll(() => drafts.count()).toBe(2);
        const second = drafts.first();
        expect(await second.textContent()).toContain(`Correct me ${name}`);
        await second.getByRole('button', { name: words.edit }).click();
        const correction = second.locator('textarea');
        await correction.fill(`Corrected ${name}`);
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/ai-draft-edit-${screen}-${name}.png` });
        await second.getByRole('button', { name: words.sendCorrected }).click();
        await expect
          .poll(() => reply.filter({ hasText: `Corrected ${name}` }).count(), { timeout: 15_000 })
          .toBe(1);

        // Cancel: nothing is sent, and no drafts are left.
        await drafts
          .filter({ hasText: `Cancel me ${name}` })
          .getByRole('button', { name: words.cancel })
          .click();
        await page.locator('#drafts').waitFor({ state: 'detached' });
        // (An edited draft keeps the corrected text as its preview.)
        expect(await draftStatuses(chat)).toEqual([
          `Decided elsewhere ${name}: cancelled`,
          `Approve me ${name}: approved`,
          `Corrected ${name}: edited`,
          `Cancel me ${name}: cancelled`,
        ]);
        // Sent to the customer: the approved draft and the correction, nothing else.
        await expect
          .poll(() => sentTexts(chat), { timeout: 15_000 })
          .toEqual([`Approve me ${name}`, `Corrected ${name}`]);
        const thread = must(await page.textContent('#messages'), 'thread');
        expect(thread).not.toContain(`Cancel me ${name}`);
        expect(thread).not.toContain(`Correct me ${name}`);
        await noWiderThanScreen(page, screen);
        await expectAccessible(page);
        await page.screenshot({ path: `test-results/ai-drafts-decided-${screen}-${name}.png` });
        await page.context().close();
      }, 120_000);
    }
  }
});
