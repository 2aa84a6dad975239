import { and, eq, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import {
  type Attachment,
  type Channel,
  channelAccounts,
  channelCredentials,
  messages,
} from './schema';

export type MediaDownloadTarget = {
  messageId: string;
  attachment: Attachment;
  channel: Channel;
  /** phone_number_id / page id / IG account id of the account that received it. */
  accountExternalId: string;
  /** Sealed Graph access token of that account (functions/lib/crypto.ts). */
  sealedAccessToken: string | null;
};

/** What the media job needs to fetch one attachment, or null when the message is gone. */
export async function loadMediaDownloadTarget(
  { tx }: TenantContext,
  messageId: string,
  index: number,
): Promise<MediaDownloadTarget | null> {
  const [row] = await tx
    .select({
      attachments: messages.attachments,
      channel: channelAccounts.channel,
      accountExternalId: channelAccounts.externalId,
      sealedAccessToken: channelCredentials.accessToken,
    })
    .from(messages)
    .innerJoin(channelAccounts, eq(channelAccounts.id, messages.channelAccountId))
    .leftJoin(channelCredentials, eq(channelCredentials.channelAccountId, channelAccounts.id))
    .where(eq(messages.id, messageId));
  if (!row) return null;
  const { attachments, ...account } = row;
  const attachment = attachments[index];
  return attachment ? { messageId, attachment, ...account } : null;
}

/**
 * Merges `patch` into attachment `index` of a message (its `data` merged too), in one statement,
 * so two attachments of one message downloaded at once do not overwrite each other.
 */
async function patchAttachment(
  { tx }: TenantContext,
  messageId: string,
  index: number,
  patch: Partial<Attachment>,
): Promise<void> {
  const { data, ...top } = patch;
  await tx
    .update(messages)
    .set({
      attachments: sql`jsonb_set(${messages.attachments}, array[${String(index)}::text],
        (${messages.attachments}->${index}::int) || ${JSON.stringify(top)}::jsonb
          || jsonb_build_object('data', coalesce(${messages.attachments}->${index}::int->'data', '{}'::jsonb) || ${JSON.stringify(data ?? {})}::jsonb))`,
    })
    .where(
      and(
        eq(messages.id, messageId),
        sql`jsonb_array_length(${messages.attachments}) > ${index}::int`,
      ),
    );
}

export async function markAttachmentStored(
  ctx: TenantContext,
  messageId: string,
  index: number,
  stored: { storageKey: string; size: number; mimeType: string; sha256: string },
): Promise<void> {
  await patchAttachment(ctx, messageId, index, {
    storageKey: stored.storageKey,
    mimeType: stored.mimeType,
    data: {
      download: { status: 'stored', size: stored.size, sha256: stored.sha256 },
    },
  });
}

/** A download that will not succeed (too large, unsupported, gone): the reason is shown. */
export async function markAttachmentFailed(
  ctx: TenantContext,
  messageId: string,
  index: number,
  reason: string,
): Promise<void> {
  await patchAttachment(ctx, messageId, index, {
    data: { download: { status: 'failed', reason } },
  });
}

/** The attachment as an operator may see it (RLS), or null. */
export async function getAttachment(
  { tx, tenantId }: TenantContext,
  messageId: string,
  index: number,
): Promise<Attachment | null> {
  const [row] = await tx
    .select({ attachments: messages.attachments })
    .from(messages)
    .where(and(eq(messages.id, messageId), eq(messages.tenantId, tenantId)));
  return row?.attachments[index] ?? null;
}
