/**
 * The outbound message path in the database: what may be sent and queueing it (queue.ts), the
 * send job's claim (claim.ts), what came of a send (outcomes.ts), and what Graph calls outside
 * the claim need (graph-targets.ts).
 */

export { OUTCOME_UNKNOWN } from '../statuses';
export { prepareSend, type SendPlan } from './claim';
export { loadReadReceiptTarget, loadSealedAccessToken } from './graph-targets';
export {
  type CancelCode,
  cancelMessage,
  failMessage,
  failQueuedMessage,
  listSendAttempts,
  recordAcceptedSend,
  recordOutcomeUnknown,
  recordSent,
  recordWidgetDelivered,
  releaseUnsentClaim,
  requeueAfterTransient,
} from './outcomes';
export {
  type MessageRow,
  type QueuedOutbound,
  type QueueOutboundInput,
  queueOutboundMessage,
  type Refusal,
  retryFailedMessage,
  SEND_JOB_KIND,
  type SendAttemptRow,
  sendFlowControlKey,
} from './queue';
