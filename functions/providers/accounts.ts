import type { ProviderCallbackAccount } from '../../db/webhook-events';
import type { ProviderAccount } from './adapter';

/** What an adapter is told of an account (never its secrets). */
export function providerAccountOf(
  account: ProviderAccount | ProviderCallbackAccount,
): ProviderAccount {
  return {
    id: 'channelAccountId' in account ? account.channelAccountId : account.id,
    externalId: account.externalId,
    displayPhoneNumber: account.displayPhoneNumber,
    wabaId: account.wabaId,
  };
}
