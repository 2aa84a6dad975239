import { describe, expect, it } from 'vitest';
import {
  whatsappMessagesChange,
  whatsappStatus,
  whatsappWebhook,
} from '../../../dev/meta-payloads';
import { parseWebhook } from '.';

const number = { phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' };

function statusesOf(statuses: unknown[]) {
  const change = whatsappMessagesChange({ ...number, statuses: [] });
  // Raw objects, so a malformed field can be tried too.
  (change.value as { statuses: unknown[] }).statuses = statuses;
  const body = whatsappWebhook('102290129340398', change);
  const parsed = parseWebhook(JSON.parse(JSON.stringify(body)), { appId: 'our-app' });
  const items = [...parsed.accounts.values()].flatMap((g) => g.items.map((p) => p.item));
  return { items, problems: parsed.problems };
}

describe('WhatsApp statuses: biz_opaque_callback_data', () => {
  it('is read into the report, so the status can find our message by it', () => {
    const callback = '3f1b0c56-1f0e-4b8e-9d53-0a4a3f4f2c11';
    const { items, problems } = statusesOf([
      whatsappStatus({
        messageId: 'wamid.A',
        status: 'sent',
        recipientId: '34600000000',
        bizOpaqueCallbackData: callback,
      }),
      whatsappStatus({ messageId: 'wamid.B', status: 'read', recipientId: '34600000000' }),
    ]);
    expect(problems).toEqual([]);
    expect(items.map((i) => i.kind === 'status' && i.report.callbackData)).toEqual([
      callback,
      null,
    ]);
  });

  it('something other than text there (another app set it) is ignored, not a problem', () => {
    const raw = {
      ...whatsappStatus({ messageId: 'wamid.C', status: 'delivered', recipientId: '34600000000' }),
      biz_opaque_callback_data: { not: 'text' },
    };
    const { items, problems } = statusesOf([raw]);
    expect(problems).toEqual([]);
    expect(items).toHaveLength(1);
    expect(items[0]!.kind === 'status' && items[0]!.report.callbackData).toBeNull();
  });
});
