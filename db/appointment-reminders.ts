import { and, desc, eq, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import { enqueueJob, type OutboxJob } from './outbox';
import {
  ACTIVE_APPOINTMENT_STATUSES,
  type AppointmentActor,
  type AppointmentReminders,
  appointmentEvents,
  appointments,
  channelAccounts,
  contacts,
  conversations,
  services,
  staff,
  tenantSettings,
} from './schema';
import { tenantTimeZone } from './settings';

/**
 * Appointment reminders (docs/appointments.md). Booking or moving an appointment enqueues one
 * `appointment-reminder` job per offset in the same transaction; the job re-reads the appointment
 * when it fires, so a cancelled or moved appointment sends nothing, and records what it did in
 * `appointments.reminders`, so a redelivered job sends nothing twice.
 */

export const REMINDER_JOB_KIND = 'appointment-reminder';

const MINUTE = 60_000;

export type ReminderPayload = { appointmentId: string; startsAt: string; offsetMinutes: number };

/** The `appointments.reminders` key of one reminder: the start it was scheduled for, the offset. */
export const reminderKey = (startsAt: string, offsetMinutes: number) =>
  `${startsAt}/${offsetMinutes}`;

/**
 * Enqueues the tenant's reminders for an appointment starting at `startsAt`, each not before
 * `startsAt - offset` (real minutes, so a 24 h reminder across a clock change is 24 h before).
 * Offsets already past at `now` are skipped. The dedupe key names the start, so booking and moving
 * back to the same time keeps one job per reminder.
 *
 * The jobs are not published by the booking paths: they are due hours later, and the outbox
 * sweeper (every minute) publishes pending rows with their not-before.
 */
export async function scheduleReminders(
  ctx: TenantContext,
  input: { appointmentId: string; startsAt: Date; now: Date },
): Promise<OutboxJob[]> {
  const [settings] = await ctx.tx
    .select({ offsets: tenantSettings.reminderOffsetsMinutes })
    .from(tenantSettings)
    .where(eq(tenantSettings.tenantId, ctx.tenantId));
  const offsets = settings?.offsets ?? [1440, 120];
  const startsAt = input.startsAt.toISOString();
  const jobs: OutboxJob[] = [];
  for (const offsetMinutes of offsets) {
    const due = new Date(input.startsAt.getTime() - offsetMinutes * MINUTE);
    if (due.getTime() <= input.now.getTime()) continue;
    const job = await enqueueJob(ctx, {
      kind: REMINDER_JOB_KIND,
      payload: { appointmentId: input.appointmentId, startsAt, offsetMinutes },
      notBefore: due,
      dedupeKey: `${REMINDER_JOB_KIND}:${input.appointmentId}:${startsAt}:${offsetMinutes}`,
    });
    if (job) jobs.push(job);
  }
  return jobs;
}

export type DueReminder = {
  appointmentId: string;
  startsAt: Date;
  status: string;
  serviceName: string;
  serviceNames: Record<string, string>;
  staffName: string;
  timeZone: string;
  contactName: string | null;
  contactOptedOut: boolean;
  /** The appointment's conversation, else the contact's latest one; null: never wrote. */
  conversationId: string | null;
  channelAccountId: string | null;
  channel: 'whatsapp' | 'messenger' | 'instagram' | 'web' | null;
};

export type ReminderCheck =
  | { kind: 'due'; reminder: DueReminder }
  /** Cancelled, completed, no-show, or deleted: nothing to remind of. */
  | { kind: 'inactive' }
  /** Moved since this reminder was scheduled: the new time has its own reminders. */
  | { kind: 'moved' }
  /** This reminder already ran (a redelivered job). */
  | { kind: 'done' };

/**
 * Whether the reminder is still due, with what its message needs. Locks the appointment for the
 * caller's transaction, so a concurrent redelivery waits and then finds it recorded.
 */
export async function checkReminder(
  ctx: TenantContext,
  payload: ReminderPayload,
): Promise<ReminderCheck> {
  const { tx, tenantId } = ctx;
  const [row] = await tx
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, payload.appointmentId), eq(appointments.tenantId, tenantId)))
    .for('update');
  if (!row || !(ACTIVE_APPOINTMENT_STATUSES as readonly string[]).includes(row.status)) {
    return { kind: 'inactive' };
  }
  if (row.startsAt.getTime() !== new Date(payload.startsAt).getTime()) return { kind: 'moved' };
  if (row.reminders[reminderKey(payload.startsAt, payload.offsetMinutes)]) return { kind: 'done' };
  const reminder = await messageFacts(ctx, row);
  return reminder ? { kind: 'due', reminder } : { kind: 'inactive' };
}

/**
 * What a message to an appointment's customer needs (names, zone, where to write), whatever its
 * status: a cancellation notice is about a cancelled appointment. Null: not this tenant's.
 */
export async function loadAppointmentMessageFacts(
  ctx: TenantContext,
  appointmentId: string,
): Promise<DueReminder | null> {
  const [row] = await ctx.tx
    .select()
    .from(appointments)
    .where(and(eq(appointments.id, appointmentId), eq(appointments.tenantId, ctx.tenantId)));
  return row ? messageFacts(ctx, row) : null;
}

async function messageFacts(
  { tx, tenantId }: TenantContext,
  row: typeof appointments.$inferSelect,
): Promise<DueReminder | null> {
  const [names] = await tx
    .select({
      serviceName: services.name,
      serviceNames: services.names,
      staffName: staff.name,
      contactName: contacts.name,
      optedOutAt: contacts.optedOutAt,
      timeZone: tenantTimeZone(tenantId),
    })
    .from(services)
    .innerJoin(staff, eq(staff.id, row.staffId))
    .innerJoin(contacts, eq(contacts.id, row.contactId))
    .where(eq(services.id, row.serviceId));
  if (!names) return null;
  const [conversation] = await tx
    .select({
      id: conversations.id,
      channelAccountId: conversations.channelAccountId,
      channel: channelAccounts.channel,
    })
    .from(conversations)
    .innerJoin(channelAccounts, eq(channelAccounts.id, conversations.channelAccountId))
    .where(
      and(
        eq(conversations.tenantId, tenantId),
        eq(conversations.contactId, row.contactId),
        row.conversationId ? eq(conversations.id, row.conversationId) : undefined,
      ),
    )
    .orderBy(sql`${conversations.lastInboundAt} desc nulls last`, desc(conversations.id))
    .limit(1);
  return {
    appointmentId: row.id,
    startsAt: row.startsAt,
    status: row.status,
    serviceName: names.serviceName,
    serviceNames: names.serviceNames,
    staffName: names.staffName,
    timeZone: names.timeZone,
    contactName: names.contactName,
    contactOptedOut: names.optedOutAt !== null,
    conversationId: conversation?.id ?? null,
    channelAccountId: conversation?.channelAccountId ?? null,
    channel: conversation?.channel ?? null,
  };
}

/** Records what a reminder did (sent or skipped): the key makes it happen once. */
export async function recordReminder(
  { tx, tenantId }: TenantContext,
  input: {
    appointmentId: string;
    key: string;
    outcome: NonNullable<AppointmentReminders[string]>;
  },
): Promise<void> {
  await tx
    .update(appointments)
    .set({
      reminders: sql`${appointments.reminders} || jsonb_build_object(${input.key}::text, ${JSON.stringify(input.outcome)}::jsonb)`,
    })
    .where(and(eq(appointments.id, input.appointmentId), eq(appointments.tenantId, tenantId)));
}

/**
 * Records in the appointment's history what an operator's move or cancellation told the customer
 * (`{notice, messageId, template?}`) or why nothing was sent (`{notice, skipped}`).
 */
export async function recordCustomerNotice(
  { tx, tenantId }: TenantContext,
  input: {
    appointmentId: string;
    actor: { by: AppointmentActor; userId?: string | null };
    changes: Record<string, unknown>;
  },
): Promise<void> {
  await tx.insert(appointmentEvents).values({
    tenantId,
    appointmentId: input.appointmentId,
    kind: 'customer_notified',
    actor: input.actor.by,
    actorUserId: input.actor.userId ?? null,
    changes: input.changes,
  });
}
