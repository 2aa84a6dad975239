import { sql } from 'drizzle-orm';
import type { TenantContext } from './client';

/**
 * Follow-ups, `opp:{id}:schedule` (docs/follow-ups.md): which service an opportunity could offer
 * times of. Known enough to find free slots when:
 * - `recall_due`, `no_show_or_cancelled`: the evidence appointment's service (and its staff
 *   member, preferred: the customer's usual person);
 * - `price_no_booking`: a service the customer's message names (its name or a per-language name of
 *   4+ letters, folded as the detector matches it; the longest name wins), any staff;
 * - never `quiet_after_handoff` (the customer waits for a person, not for times).
 * The service must still be active and bookable by the agent (not "assessment first"), and
 * performed by at least one active staff member; otherwise the card has no schedule row.
 */
export type SchedulableService = {
  opportunityId: string;
  serviceId: string;
  /** The evidence appointment's staff member (preferred when free); null: anyone who performs it. */
  staffId: string | null;
  serviceName: string;
  serviceNames: Record<string, string>;
};

export async function schedulableServices(
  { tx, tenantId }: TenantContext,
  opportunityIds: string[],
): Promise<Map<string, SchedulableService>> {
  if (opportunityIds.length === 0) return new Map();
  // Ids come from our own rows or the UUID-checked tap; an array literal keeps it one parameter.
  const ids = `{${opportunityIds.join(',')}}`;
  const offered = sql`s.active and s.bookable and not s.requires_assessment
    and exists (select 1 from service_staff ss join staff st on st.id = ss.staff_id
      where ss.service_id = s.id and st.active)`;
  const rows = await tx.execute<{
    opportunity_id: string;
    service_id: string;
    staff_id: string | null;
    name: string;
    names: Record<string, string>;
  }>(sql`
    select o.id as opportunity_id, s.id as service_id, a.staff_id, s.name, s.names
    from opportunities o
    join appointments a on a.id = o.evidence_id and a.tenant_id = o.tenant_id
    join services s on s.id = a.service_id and s.tenant_id = o.tenant_id
    where o.tenant_id = ${tenantId} and o.id = any(${ids}::uuid[])
      and o.kind in ('recall_due', 'no_show_or_cancelled') and ${offered}
    union all
    (select distinct on (o.id) o.id, s.id, null::uuid, s.name, s.names
    from opportunities o
    join messages m on m.id = o.evidence_id and m.tenant_id = o.tenant_id
    join services s on s.tenant_id = o.tenant_id
    cross join lateral (select s.name union all select value from jsonb_each_text(s.names)) n(name)
    where o.tenant_id = ${tenantId} and o.id = any(${ids}::uuid[])
      and o.kind = 'price_no_booking' and m.content is not null and ${offered}
      and char_length(n.name) >= 4
      and position(app.search_normalize(n.name) in app.search_normalize(m.content)) > 0
    order by o.id, char_length(n.name) desc, s.id)`);
  return new Map(
    rows.map((r) => [
      r.opportunity_id,
      {
        opportunityId: r.opportunity_id,
        serviceId: r.service_id,
        staffId: r.staff_id,
        serviceName: r.name,
        serviceNames: r.names ?? {},
      },
    ]),
  );
}
