/**
 * `npm run simulate -- --to <business number or account id> --from <customer> "text"`
 * posts a correctly signed customer message into the running Worker, exactly as Meta would.
 *   --provider gupshup|ycloud                a number carried by that provider instead: the
 *                                            provider's stand-in posts the callback its own way
 *   --stand-in http://127.0.0.1:8091         that stand-in (default its fixed local port)
 *   --channel whatsapp|messenger|instagram   (default whatsapp)
 *   --name "Ana"                             WhatsApp profile name
 *   --reply-id <id> --reply-title "10:00"    a tap on a reply button the business sent (WhatsApp
 *                                            button reply, Messenger/Instagram quick reply), no text
 *   --url http://127.0.0.1:8787              the Worker
 */
import { parseArgs } from 'node:util';
import { demoTenants, localSecrets, ports } from './local-config';
import { type MetaAccount, sendCustomerMessage } from './stand-ins/meta-graph';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    channel: { type: 'string', default: 'whatsapp' },
    provider: { type: 'string' },
    'stand-in': { type: 'string' },
    name: { type: 'string' },
    'reply-id': { type: 'string' },
    'reply-title': { type: 'string' },
    url: { type: 'string', default: `http://127.0.0.1:${ports.worker}` },
  },
});

const channel = values.channel as MetaAccount['channel'];
const replyId = values['reply-id'];
// A tap carries the button's title where a message carries its text.
const text = replyId === undefined ? positionals.join(' ') : values['reply-title'];
if (
  !values.to ||
  !values.from ||
  !text ||
  // Text with a tap, or a title without one, would be silently dropped.
  (replyId === undefined) !== (values['reply-title'] === undefined) ||
  (replyId !== undefined && positionals.length > 0) ||
  !['whatsapp', 'messenger', 'instagram'].includes(channel)
) {
  console.error(
    'usage: npm run simulate -- --to <business number|page id|IG id> --from <customer> [--channel whatsapp|messenger|instagram] [--name N] ("text" | --reply-id <button id> --reply-title <button title>)',
  );
  console.error(
    `demo numbers: ${demoTenants.map((t) => `${t.name}: WhatsApp ${t.whatsapp.displayPhone}, page ${t.messengerPageId}, IG ${t.instagramId}`).join('; ')}`,
  );
  process.exit(2);
}

if (values.provider !== undefined) {
  process.exit(await viaProvider(values.provider, { to: values.to, from: values.from, text }));
}

/**
 * A customer's message to a number Gupshup or YCloud carries: handed to the provider's stand-in
 * in `npm start`, which posts it to the Worker exactly as the provider does (its `/__inbound`).
 */
async function viaProvider(
  provider: string,
  input: { to: string; from: string; text: string },
): Promise<number> {
  const digits = (n: string) => n.replace(/\D/g, '');
  const tenant = demoTenants.find((t) =>
    provider === 'gupshup'
      ? ([t.gupshup.phone, t.gupshup.appName] as string[]).includes(input.to) ||
        digits(t.gupshup.phone) === digits(input.to)
      : digits(t.ycloud.phone) === digits(input.to),
  );
  if ((provider !== 'gupshup' && provider !== 'ycloud') || !tenant) {
    console.error(
      `--provider is gupshup or ycloud, and --to one of its demo numbers: ${demoTenants
        .map((t) => `${t.name}: Gupshup ${t.gupshup.phone}, YCloud ${t.ycloud.phone}`)
        .join('; ')}`,
    );
    return 2;
  }
  const port = provider === 'gupshup' ? ports.gupshup : ports.ycloud;
  const standIn = values['stand-in'] ?? `http://127.0.0.1:${port}`;
  const account = provider === 'gupshup' ? tenant.gupshup.appName : tenant.ycloud.phone;
  const res = await fetch(`${standIn}/__inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account, from: input.from, name: values.name, text: input.text }),
  });
  const body = await res.text();
  // The stand-in answers with what the Worker answered its callback.
  const delivered = res.ok ? (JSON.parse(body) as { status?: number | null }).status : null;
  console.log(`${delivered ?? res.status} ${body}`);
  return delivered === 200 ? 0 : 1;
}

const accounts: MetaAccount[] = demoTenants.flatMap((t) => [
  {
    channel: 'whatsapp',
    phoneNumberId: t.whatsapp.phoneNumberId,
    wabaId: t.whatsapp.wabaId,
    displayPhoneNumber: t.whatsapp.displayPhone,
  },
  { channel: 'messenger', pageId: t.messengerPageId },
  { channel: 'instagram', igId: t.instagramId },
]);

const res = await sendCustomerMessage({
  webhookUrl: `${values.url}/webhooks/meta`,
  appSecret: localSecrets.metaAppSecret,
  accounts,
  channel,
  to: values.to,
  from: values.from,
  name: values.name,
  text,
  replyId,
});
const body = await res.text();
console.log(`${res.status} ${body}`);
process.exit(res.ok ? 0 : 1);
