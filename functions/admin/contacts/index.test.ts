import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const foreignContact = async (sql: postgres.Sql, b: TenantFixture) =>
  (await createConversation(sql, b)).contactId;

describeOperatorSecurity({
  method: 'GET',
  path: '/admin/contacts/:foreignId/opt-ins',
  foreignId: foreignContact,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/contacts/:foreignId/opt-ins',
  body: { action: 'opt_in', scope: 'marketing', source: 'web_form' },
  foreignId: foreignContact,
});

type Consent = {
  contact_id: string;
  consent: {
    opted_out_at: string | null;
    has_written: boolean;
    marketing: string;
    utility: string;
  };
  entries: Array<Record<string, unknown>>;
};

describe('contacts: the opt-in ledger', () => {
  const record = (h: Harness, t: TenantFixture, contactId: string, body: unknown) =>
    h.asUser(t.agent, `/admin/contacts/${contactId}/opt-ins`, {
      method: 'POST',
      body: JSON.stringify(body),
    });

  it('records who, channel, scope, source and when; an opt-out of everything sets opted_out_at', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const initial = (await (
      await h.asUser(t.agent, `/admin/contacts/${conv.contactId}/opt-ins`)
    ).json()) as Consent;
    expect(initial).toEqual({
      contact_id: conv.contactId,
      consent: { opted_out_at: null, has_written: true, marketing: 'none', utility: 'none' },
      entries: [],
    });

    const optIn = await record(h, t, conv.contactId, {
      action: 'opt_in',
      scope: 'marketing',
      source: 'web_form',
      note: 'Checkbox at checkout',
    });
    expect(optIn.status).toBe(201);
    const afterIn = (await optIn.json()) as Consent;
    expect(afterIn.consent.marketing).toBe('opted_in');
    expect(afterIn.entries).toEqual([
      {
        id: expect.any(String),
        action: 'opt_in',
        scope: 'marketing',
        channel: 'whatsapp',
        source: 'web_form',
        recorded_by_user_id: t.agent.id,
        note: 'Checkbox at checkout',
        recorded_at: expect.any(String),
      },
    ]);

    const optOut = (await (
      await record(h, t, conv.contactId, { action: 'opt_out', scope: 'all', source: 'phone_call' })
    ).json()) as Consent;
    expect(optOut.consent.marketing).toBe('opted_out');
    expect(optOut.consent.opted_out_at).toBeTruthy();
    const [row] = await sql`select opted_out_at from contacts where id = ${conv.contactId}`;
    expect(row?.opted_out_at).toBeInstanceOf(Date);
    const [count] =
      await sql`select count(*)::int as n from opt_ins where contact_id = ${conv.contactId}`;
    expect(count?.n).toBe(2);
  });

  it('rejects an unknown scope or a missing source', async ({ harness: h, sql, tenant: t }) => {
    const conv = await createConversation(sql, t);
    expect(
      (await record(h, t, conv.contactId, { action: 'opt_in', scope: 'everything', source: 'x' }))
        .status,
    ).toBe(400);
    expect((await record(h, t, conv.contactId, { action: 'opt_in', scope: 'all' })).status).toBe(
      400,
    );
  });
});
