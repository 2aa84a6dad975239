import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instagramMessageBody, messengerMessageBody, randomMid } from '../../dev/meta-payloads';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { postWebhook, scopedUserId } from '../../test/meta-webhooks';
import { must } from '../../test/must';

type Summary = { display_name: string; contact_id: string };

/**
 * Messenger and Instagram webhooks name the customer only by PSID / IGSID: the contact-profile job
 * looks the name up through the Graph stand-in after the webhook answered, once per contact, and
 * the chat list then shows it. A refused lookup is given up at once, and the id stays the name.
 */
describe('contact-profile job: Messenger / Instagram names from the User Profile API', () => {
  let h: Harness;
  let sql: postgres.Sql;
  let t: TenantFixture;

  beforeAll(async () => {
    h = await createHarness();
    sql = adminSql();
    t = await createTenant(sql, 'Profiles');
    h.registerTenant(t);
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${t.tenantId}`;
  });
  afterAll(async () => {
    await sql.end();
    await h.close();
  });

  const graph = () => must(h.graph, 'the Graph stand-in');
  const profileCalls = (id: string) =>
    graph().requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${id}`));

  async function chatNames(): Promise<string[]> {
    const res = await h.asUser(t.owner, '/admin/chats/summary', {
      headers: { 'x-tenant-id': t.tenantId },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Summary[] }).items.map((i) => i.display_name);
  }

  async function messengerWrites(psid: string, text: string) {
    const body = messengerMessageBody({
      pageId: t.accounts.messenger.externalId,
      psid,
      mid: randomMid(),
      text,
    });
    const before = profileCalls(psid).length;
    const res = await postWebhook(h, body);
    expect(res.status).toBe(200);
    // The webhook asked Graph nothing itself: the lookup is a job, run after the response.
    expect(profileCalls(psid)).toHaveLength(before);
  }

  it('Messenger: first and last name stored once; later messages ask nothing more', async () => {
    const psid = scopedUserId();
    graph().setProfile(psid, { channel: 'messenger', first_name: 'Lucía', last_name: 'Gómez' });
    await messengerWrites(psid, 'Hola');
    await h.settle();
    const calls = profileCalls(psid);
    expect(calls.map((c) => [c.query.fields, c.headers.authorization])).toEqual([
      ['first_name,last_name,profile_pic', 'Bearer test-graph-access-token'],
    ]);
    const [contact] = await sql`select name, username from contacts
      where tenant_id = ${t.tenantId} and external_user_id = ${psid}`;
    expect(contact).toEqual({ name: 'Lucía Gómez', username: null });
    expect(await chatNames()).toContain('Lucía Gómez');
    await messengerWrites(psid, '¿Seguís ahí?');
    await h.settle();
    expect(profileCalls(psid)).toHaveLength(1);
  });

  it('Instagram: name and username', async () => {
    const igsid = scopedUserId();
    graph().setProfile(igsid, { channel: 'instagram', name: 'Omar K', username: 'omar.k' });
    const res = await postWebhook(
      h,
      instagramMessageBody({
        igId: t.accounts.instagram.externalId,
        igsid,
        mid: randomMid(),
        text: 'hello',
      }),
    );
    expect(res.status).toBe(200);
    await h.settle();
    expect(profileCalls(igsid).map((c) => c.query.fields)).toEqual(['name,username']);
    const [contact] = await sql`select name, username from contacts
      where tenant_id = ${t.tenantId} and external_user_id = ${igsid}`;
    expect(contact).toEqual({ name: 'Omar K', username: 'omar.k' });
    expect(await chatNames()).toContain('Omar K');
  });

  it('a refused lookup (unknown id, no permission) is asked once, never retried', async () => {
    // Unknown to Graph (error 100): one call, no retry, not asked again with the next message.
    const unknown = scopedUserId();
    await messengerWrites(unknown, 'Hola');
    await h.settle();
    await messengerWrites(unknown, 'Otra vez');
    await h.settle();
    expect(profileCalls(unknown)).toHaveLength(1);
    expect(await chatNames()).toContain(unknown);
    // Known, but the app lacks the permission (error 10, 403): permanent too.
    const denied = scopedUserId();
    graph().setProfile(denied, { channel: 'messenger', first_name: 'Nadia' });
    graph().failNext({
      code: 10,
      status: 403,
      message: 'Application does not have permission for this action',
      match: (r) => r.method === 'GET' && r.path.endsWith(`/${denied}`),
    });
    await messengerWrites(denied, 'Hola');
    await h.settle();
    expect(profileCalls(denied)).toHaveLength(1);
    const [contact] = await sql`select name from contacts
      where tenant_id = ${t.tenantId} and external_user_id = ${denied}`;
    expect(contact?.name).toBeNull();
    expect(await chatNames()).toContain(denied);
  });
});
