import { agentTurnJob } from './agent-turn';
import { appointmentReminderJob } from './appointment-reminder';
import { contactProfileJob } from './contact-profile';
import type { JobHandler } from './define';
import { knowledgeEmbeddingJob } from './knowledge-embedding';
import { mediaDownloadJob } from './media-download';
import { opportunitiesScanJob } from './opportunities-scan';
import { opportunityDraftJob } from './opportunity-draft';
import { sendJob } from './send';
import { sendAcceptedJob } from './send-accepted';
import { traceExportJob } from './trace-export';
import { webhookEventJob } from './webhook-event';

/**
 * Every job kind QStash may deliver to `/jobs/:kind`. Add a handler here and it is routed,
 * signature-checked and validated by functions/jobs/index.ts.
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers of different payload types share the list
export const jobHandlers: JobHandler<any>[] = [
  mediaDownloadJob,
  sendJob,
  sendAcceptedJob,
  agentTurnJob(),
  appointmentReminderJob,
  contactProfileJob,
  opportunitiesScanJob,
  opportunityDraftJob(),
  webhookEventJob,
  knowledgeEmbeddingJob,
  traceExportJob,
];
