import { api, call, type Schemas } from '../api/client';
import { activeTenant } from '../session/tenant';
import { addDays, dateAndTime, localDate } from './dates';

export type Appointment = Schemas['Appointment'] & { when?: string };
export const ACTIVE = ['pending', 'confirmed'];

/** The business's time zone (the API's local dates are in it), once per business. */
const zones = new Map<string | null, string>();
export async function tenantZone(): Promise<string> {
  const tenant = activeTenant.get();
  let zone = zones.get(tenant);
  if (!zone) {
    // Without it the times show as the API returns them (UTC), never in the browser's zone.
    zone = await call(() => api.GET('/admin/settings'))
      .then((s) => s.time_zone)
      .catch(() => 'UTC');
    zones.set(tenant, zone);
  }
  return zone;
}

/** After the business's time zone changed: the next agenda asks again. */
export const forgetZone = () => zones.delete(activeTenant.get());

export async function listAppointments(query: { from: string; to: string; staff_id?: string }) {
  const { items } = await call(() => api.GET('/admin/appointments', { params: { query } }));
  return items;
}

/** A contact's pending and confirmed appointments in the next 30 days, soonest first. */
export async function upcomingAppointments(contactId: string): Promise<Appointment[]> {
  const zone = await tenantZone();
  const from = localDate(new Date(), zone);
  const items = await listAppointments({ from, to: addDays(from, 30) });
  const now = Date.now();
  return items
    .filter((a) => a.contact_id === contactId && ACTIVE.includes(a.status))
    .filter((a) => Date.parse(a.ends_at) > now)
    .map((a) => ({ ...a, when: dateAndTime(a, zone) }));
}
