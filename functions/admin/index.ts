import { OpenAPIHono } from '@hono/zod-openapi';
import { validationHook } from '../app';
import type { HonoEnv } from '../context';
import { operatorAuth } from '../middleware/operator-auth';
import { registerAiPrices } from './ai-prices';
import { registerAppointments } from './appointments';
import { registerCannedReplies } from './canned-replies';
import { registerChannels } from './channels';
import { registerChats } from './chats';
import { registerContacts } from './contacts';
import { registerConversations } from './conversations';
import { registerDashboard } from './dashboard';
import { registerDrafts } from './drafts';
import { registerKnowledge } from './knowledge';
import { registerLogs } from './logs';
import { registerMe } from './me';
import { registerMedia } from './media';
import { registerMessages } from './messages';
import { registerOpportunities } from './opportunities';
import { jsonWithoutNul } from './route';
import { registerSend } from './send';
import { registerServices } from './services';
import { registerSettings } from './settings';
import { registerStaff } from './staff';
import { registerTeam } from './team';
import { registerTemplates } from './templates';
import { registerWebhookEvents } from './webhook-events';

/** The operator API: every route behind operator authentication and tenant membership. */
export function adminApp() {
  const admin = new OpenAPIHono<HonoEnv>({ defaultHook: validationHook });
  admin.use('*', operatorAuth);
  admin.use('*', jsonWithoutNul);
  registerMe(admin);
  registerChats(admin);
  registerMedia(admin);
  registerWebhookEvents(admin);
  registerSend(admin);
  registerTemplates(admin);
  registerChannels(admin);
  registerConversations(admin);
  registerMessages(admin);
  registerContacts(admin);
  registerTeam(admin);
  // The composer's saved answers (issue 11).
  registerCannedReplies(admin);
  // The AI agent (issue 5): knowledge base, run traces, approval drafts, business settings.
  registerKnowledge(admin);
  registerLogs(admin);
  registerDrafts(admin);
  registerSettings(admin);
  // What the AI costs (issue 14): the model prices runs are costed at.
  registerAiPrices(admin);
  // Appointments (issue 10): services, staff and their hours, the diary and availability.
  registerServices(admin);
  registerStaff(admin);
  registerAppointments(admin);
  // Follow-ups (issue 12, phase 1): what the daily scan found, skipped or run by hand.
  registerOpportunities(admin);
  // The dashboard (issue 14, part 3): a business's days as series for the page's charts.
  registerDashboard(admin);
  return admin;
}
