import bcrypt from 'bcryptjs';
import type postgres from 'postgres';
import { seedDemoKnowledge } from '../db/knowledge-demo';
import { encryptSecret } from '../functions/lib/crypto';
import { demoPassword, demoTenants, localSecrets, ports } from './local-config';
import { seedDemoAppointments } from './seed-appointments';
import { seedDemoDashboard } from './seed-dashboard';
import { seedFollowUpTemplates } from './seed-follow-up-templates';
import { seedDemoFollowUps } from './seed-follow-ups';
import { defaultTemplateFixtures } from './stand-ins/meta-graph-templates';

/**
 * Loads the demo data idempotently (safe on every `npm start`): two tenants so isolation can be
 * seen, each with a WhatsApp number, a Messenger page, an Instagram account, an owner, an agent
 * and approved templates, and a bookable business (services, staff, hours, appointments in the
 * coming days, relative to `now`), and customers worth a follow-up with a staff contact to card
 * (dev/seed-follow-ups.ts), and four weeks of history for the dashboard (dev/seed-dashboard.ts).
 * Runs as the database owner, like a migration.
 */
export async function seedDemo(
  sql: postgres.Sql,
  now = new Date(),
  options: { widgetOrigins?: string[] } = {},
): Promise<void> {
  const passwordHash = await bcrypt.hash(demoPassword, 10);
  const graphToken = await encryptSecret(localSecrets.graphAccessToken, localSecrets.encryptionKey);
  await sql.begin(async (tx) => {
    for (const t of demoTenants) {
      await tx`insert into tenants (id, name, slug) values (${t.id}, ${t.name}, ${t.slug})
        on conflict (id) do update set name = excluded.name`;
      await tx`insert into tenant_settings (tenant_id, time_zone, business_description)
        values (${t.id}, ${t.timeZone}, ${t.description}) on conflict (tenant_id) do nothing`;
      const accounts = [
        {
          channel: 'whatsapp',
          externalId: t.whatsapp.phoneNumberId,
          waba: t.whatsapp.wabaId,
          name: `${t.name} WhatsApp`,
          phone: t.whatsapp.displayPhone,
        },
        {
          channel: 'messenger',
          externalId: t.messengerPageId,
          waba: null,
          name: `${t.name} Page`,
          phone: null,
        },
        {
          channel: 'instagram',
          externalId: t.instagramId,
          waba: null,
          name: `${t.name} Instagram`,
          phone: null,
        },
      ];
      for (const a of accounts) {
        const [row] = await tx<{ id: string }[]>`
          insert into channel_accounts (tenant_id, channel, external_id, waba_id, display_name, display_phone_number)
          values (${t.id}, ${a.channel}, ${a.externalId}, ${a.waba}, ${a.name}, ${a.phone})
          on conflict (channel, external_id) do update set display_name = excluded.display_name
          returning id`;
        await tx`insert into private.channel_credentials (channel_account_id, tenant_id, access_token)
          values (${row!.id}, ${t.id}, ${graphToken})
          on conflict (channel_account_id) do update set access_token = excluded.access_token`;
        if (a.channel === 'whatsapp') {
          for (const tpl of defaultTemplateFixtures) {
            await tx`insert into templates (tenant_id, channel_account_id, waba_id, provider_template_id, name, language, status, category, parameter_format, components)
              values (${t.id}, ${row!.id}, ${a.waba}, ${tpl.id}, ${tpl.name}, ${tpl.language}, ${tpl.status}, ${tpl.category}, ${tpl.parameter_format}, ${tx.json(tpl.components as never)})
              on conflict (tenant_id, waba_id, name, language) do nothing`;
          }
        }
      }
      // The business's numbers on Gupshup and YCloud (issue 13), with the same approved
      // templates under their own WABA (Gupshup sends a template by its own id).
      for (const p of providerNumbers(t)) {
        await tx`insert into channel_accounts (id, tenant_id, channel, provider, external_id, waba_id, display_name, display_phone_number)
          values (${p.id}, ${t.id}, 'whatsapp', ${p.provider}, ${p.externalId}, ${p.wabaId}, ${p.name}, ${p.phone})
          on conflict (id) do update set display_name = excluded.display_name`;
        await tx`insert into private.channel_credentials (channel_account_id, tenant_id, access_token, webhook_secret)
          values (${p.id}, ${t.id}, ${await encryptSecret(p.apiKey, localSecrets.encryptionKey)},
            ${await encryptSecret(p.secret, localSecrets.encryptionKey)})
          on conflict (channel_account_id) do update set access_token = excluded.access_token,
            webhook_secret = excluded.webhook_secret`;
        for (const tpl of defaultTemplateFixtures) {
          await tx`insert into templates (tenant_id, channel_account_id, waba_id, provider_template_id, name, language, status, category, parameter_format, components)
            values (${t.id}, ${p.id}, ${p.wabaId}, ${`${p.provider}-${tpl.id}`}, ${tpl.name}, ${tpl.language}, ${tpl.status}, ${tpl.category}, ${tpl.parameter_format}, ${tx.json(tpl.components as never)})
            on conflict (tenant_id, waba_id, name, language) do nothing`;
        }
      }
      // The web chat widget (issue 13) on the demo business site (dev/demo-site.ts): its
      // allowed origins are that site's, as this start serves it.
      await seedDemoWidget(tx, t, options.widgetOrigins ?? demoSiteOrigins(ports.demoSite));
      // Approved follow-up templates, for follow-ups outside the 24-hour window (issue 12).
      await seedFollowUpTemplates(tx, t);
      // The AI agent's demo knowledge base and opening hours (issue 5).
      await seedDemoKnowledge(tx, t);
      for (const u of t.users) {
        await tx`insert into auth.users (id, email, encrypted_password, email_confirmed_at)
          values (${u.id}, ${u.email}, ${passwordHash}, now())
          on conflict (id) do update set encrypted_password = excluded.encrypted_password`;
        await tx`insert into tenant_members (tenant_id, user_id, role) values (${t.id}, ${u.id}, ${u.role})
          on conflict (tenant_id, user_id) do nothing`;
      }
      await seedDemoAppointments(tx, t, now);
      // Follow-ups (issue 12): histories the daily scan finds, and a staff contact for the cards.
      await seedDemoFollowUps(tx, t, now);
      // The dashboard (issue 14): four weeks of conversations, AI runs and handoffs to chart.
      await seedDemoDashboard(tx, t, now);
    }
  });
}

/** A demo business's WhatsApp numbers on Gupshup and YCloud, as seeded. */
export function providerNumbers(t: (typeof demoTenants)[number]) {
  return [
    {
      provider: 'gupshup' as const,
      id: t.gupshup.accountId,
      externalId: t.gupshup.appName,
      phone: t.gupshup.phone,
      wabaId: t.gupshup.wabaId,
      name: `${t.name} WhatsApp (Gupshup)`,
      apiKey: localSecrets.gupshupApiKey,
      secret: localSecrets.gupshupCallbackSecret,
    },
    {
      provider: 'ycloud' as const,
      id: t.ycloud.accountId,
      externalId: t.ycloud.phone,
      phone: t.ycloud.phone.replace('+', ''),
      wabaId: t.ycloud.wabaId,
      name: `${t.name} WhatsApp (YCloud)`,
      apiKey: localSecrets.ycloudApiKey,
      secret: localSecrets.ycloudWebhookSecret,
    },
  ];
}

/** The origins the demo site is reached at on this machine (a browser may name either host). */
export function demoSiteOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

async function seedDemoWidget(
  tx: postgres.TransactionSql,
  t: (typeof demoTenants)[number],
  origins: string[],
) {
  const [account] = await tx<{ id: string }[]>`
    insert into channel_accounts (tenant_id, channel, external_id, display_name)
    values (${t.id}, 'web', ${t.widget.key}, ${`${t.name} website`})
    on conflict (channel, external_id) do update set display_name = excluded.display_name
    returning id`;
  await tx`insert into widgets (tenant_id, channel_account_id, allowed_origins, title, color, greeting)
    values (${t.id}, ${account!.id}, ${tx.json(origins)}, ${t.name}, ${t.widget.color}, ${t.widget.greeting})
    on conflict (channel_account_id) do update set allowed_origins = excluded.allowed_origins,
      title = excluded.title, color = excluded.color, greeting = excluded.greeting`;
}
