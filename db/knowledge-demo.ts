import type postgres from 'postgres';

/**
 * The demo tenants' knowledge articles and opening hours (dev/seed.ts loads them on every
 * `npm start`), so the offline demo model has something to answer from: ask Clínica Sonrisa
 * "¿a qué hora abrís?" or Glow Salon "how much is a haircut?". Fixed ids keep the seed idempotent;
 * an operator's edits to these articles are kept.
 */
type DemoArticle = { id: string; title: string; body: string; language: string; tags: string[] };

type OpeningHours = Record<string, Array<[string, string]>>;

/** One opening time range on each of `days`. */
const sameHours = (days: string[], range: [string, string]): OpeningHours =>
  Object.fromEntries(days.map((day) => [day, [range]]));

const DEMO: Record<string, { hours: OpeningHours; articles: DemoArticle[] }> = {
  'clinica-sonrisa': {
    hours: {
      ...sameHours(['mon', 'tue', 'wed', 'thu', 'fri'], ['09:00', '20:00']),
      sat: [['10:00', '14:00']],
      sun: [],
    },
    articles: [
      {
        id: '11111111-aaaa-4aaa-8aaa-000000000001',
        title: 'Horario de apertura',
        body: 'Abrimos de lunes a viernes de 9:00 a 20:00 y los sábados de 10:00 a 14:00. Los domingos y festivos estamos cerrados.',
        language: 'es',
        tags: ['horario', 'hora', 'abrís', 'abren', 'abierto', 'cerrado'],
      },
      {
        id: '11111111-aaaa-4aaa-8aaa-000000000002',
        title: 'Dirección y parking',
        body: 'Estamos en la calle de Alcalá 123, Madrid (metro Goya). Hay un parking público a 50 metros de la clínica.',
        language: 'es',
        tags: ['dónde', 'dirección', 'ubicación', 'aparcar'],
      },
      {
        id: '11111111-aaaa-4aaa-8aaa-000000000003',
        title: 'Precios',
        body: 'La primera visita y las revisiones son gratuitas. Una limpieza dental cuesta 60 €. El blanqueamiento, desde 150 €. La ortodoncia invisible se presupuesta en la primera visita.',
        language: 'es',
        tags: ['precio', 'cuesta', 'cuánto', 'tarifa', 'limpieza', 'blanqueamiento'],
      },
      {
        id: '11111111-aaaa-4aaa-8aaa-000000000004',
        title: 'Opening hours',
        body: 'We are open Monday to Friday from 9:00 to 20:00 and on Saturdays from 10:00 to 14:00. Closed on Sundays and public holidays.',
        language: 'en',
        tags: ['hours', 'open', 'time'],
      },
      {
        id: '11111111-aaaa-4aaa-8aaa-000000000005',
        title: 'ساعات العمل',
        body: 'نفتح من الاثنين إلى الجمعة من الساعة 9:00 حتى 20:00، ويوم السبت من 10:00 حتى 14:00. نغلق أيام الأحد والعطل الرسمية.',
        language: 'ar',
        tags: ['مواعيد', 'ساعات', 'تفتحون', 'مفتوح'],
      },
    ],
  },
  'glow-salon': {
    hours: {
      mon: [],
      ...sameHours(['tue', 'wed', 'thu', 'fri', 'sat'], ['10:00', '19:00']),
      sun: [],
    },
    articles: [
      {
        id: '22222222-aaaa-4aaa-8aaa-000000000001',
        title: 'Opening hours',
        body: "We're open Tuesday to Saturday, 10am to 7pm. Closed on Sundays and Mondays.",
        language: 'en',
        tags: ['hours', 'open', 'time', 'closed'],
      },
      {
        id: '22222222-aaaa-4aaa-8aaa-000000000002',
        title: 'Prices',
        body: "Women's haircut from $55, men's haircut from $35, blow-dry $40, manicure $25, gel nails $45.",
        language: 'en',
        tags: ['price', 'cost', 'how much', 'haircut', 'nails'],
      },
    ],
  },
};

/** Loads the demo knowledge of the tenant with this slug (nothing for other slugs). */
export async function seedDemoKnowledge(
  sql: postgres.Sql | postgres.TransactionSql,
  tenant: { id: string; slug: string },
): Promise<void> {
  const demo = DEMO[tenant.slug];
  if (!demo) return;
  for (const a of demo.articles) {
    await sql`insert into knowledge_articles (id, tenant_id, title, body, language, tags)
      values (${a.id}, ${tenant.id}, ${a.title}, ${a.body}, ${a.language}, ${sql.json(a.tags)})
      on conflict (id) do nothing`;
  }
  // Only where nobody has set hours yet.
  await sql`update tenant_settings set business_hours = ${sql.json(demo.hours)}
    where tenant_id = ${tenant.id} and business_hours = '{}'::jsonb`;
}
