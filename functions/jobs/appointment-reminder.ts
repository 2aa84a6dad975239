import { z } from 'zod';
import {
  checkReminder,
  REMINDER_JOB_KIND,
  recordReminder,
  reminderKey,
} from '../../db/appointment-reminders';
import { asTenant } from '../../db/client';
import type { OutboxJob } from '../../db/outbox';
import { queueAppointmentNotice } from '../agent/appointment-messages';
import { publishJobs } from '../lib/jobs';
import { defineJob } from './define';

/**
 * An appointment reminder (db/appointment-reminders.ts schedules it). When it fires it re-reads the
 * appointment under a row lock: cancelled or moved → nothing is sent; already recorded (QStash
 * redelivered it) → nothing is sent. Otherwise it queues one message through the send path and
 * records it in the same transaction: inside the window a session message with the buttons
 * `appt:{id}:confirm|reschedule|cancel`, outside it (WhatsApp) the tenant's approved UTILITY
 * template `appointment_reminder`. Anything that cannot go out is recorded as skipped with why.
 */

const payload = z.object({
  appointmentId: z.uuid(),
  startsAt: z.iso.datetime(),
  offsetMinutes: z.number().int(),
});

export const appointmentReminderJob = defineJob({
  kind: REMINDER_JOB_KIND,
  payload,
  async handle(job, input) {
    const now = job.services.clock.now();
    const result = await asTenant(job.services.db, job.tenantId, async (ctx) => {
      const check = await checkReminder(ctx, input);
      if (check.kind !== 'due') return { detail: check.kind, jobs: [] as OutboxJob[] };
      const { job: sendJob, ...outcome } = await queueAppointmentNotice(
        ctx,
        check.reminder,
        'reminder',
        now,
      );
      await recordReminder(ctx, {
        appointmentId: input.appointmentId,
        key: reminderKey(input.startsAt, input.offsetMinutes),
        outcome: { at: now.toISOString(), ...outcome },
      });
      return {
        detail: outcome.skipped ? `skipped: ${outcome.skipped}` : 'queued',
        jobs: sendJob ? [sendJob] : [],
      };
    });
    await publishJobs(job.services, job.env, result.jobs);
    return { status: 'done', detail: result.detail };
  },
});
