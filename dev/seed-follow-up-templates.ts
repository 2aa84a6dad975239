import type postgres from 'postgres';
import type { demoTenants } from './local-config';
import { followUpTemplateFixtures } from './stand-ins/meta-graph-templates';

/**
 * The demo businesses' approved follow-up templates (docs/follow-ups.md): what a follow-up to a
 * customer whose 24-hour window is closed proposes, an offer to book (MARKETING, needs the
 * customer's opt-in) and an answer to a pending request (UTILITY), in Spanish and English, on the
 * business's WhatsApp number. The Graph stand-in of `npm start` knows them too (dev/start.ts), so
 * an approved one is sent as Meta would. Idempotent, like the rest of the seed.
 */
export async function seedFollowUpTemplates(
  tx: postgres.TransactionSql,
  tenant: (typeof demoTenants)[number],
): Promise<void> {
  for (const tpl of followUpTemplateFixtures) {
    await tx`insert into templates (tenant_id, channel_account_id, waba_id, provider_template_id, name,
        language, status, category, parameter_format, components)
      select ${tenant.id}, id, waba_id, ${tpl.id}, ${tpl.name}, ${tpl.language}, ${tpl.status},
        ${tpl.category}, ${tpl.parameter_format}, ${tx.json(tpl.components as never)}
      from channel_accounts
      where tenant_id = ${tenant.id} and channel = 'whatsapp' and external_id = ${tenant.whatsapp.phoneNumberId}
      on conflict (tenant_id, waba_id, name, language) do nothing`;
  }
}
