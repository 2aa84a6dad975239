import { describe, expect } from 'vitest';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const price = {
  input_usd_per_million: 0.3,
  cached_input_usd_per_million: 0.05,
  output_usd_per_million: 1.2,
};

describeOperatorSecurity({ method: 'GET', path: '/admin/ai-prices' });
describeOperatorSecurity({ method: 'PUT', path: '/admin/ai-prices/gpt-4.1-mini', body: price });
describeOperatorSecurity({ method: 'DELETE', path: '/admin/ai-prices/gpt-4.1-mini' });

type Item = {
  model: string;
  input_usd_per_million: number;
  cached_input_usd_per_million: number;
  output_usd_per_million: number;
  own: boolean;
  list_price: Record<string, number> | null;
  updated_at: string | null;
};
type ErrorBody = { error: { code: string; message: string } };

describe('/admin/ai-prices', () => {
  const put = (body: unknown) => ({ method: 'PUT', body: JSON.stringify(body) });

  it('lists the list prices, lets an owner set and remove its own, and prices new models', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Prices A');
    const list = async () => {
      const res = await h.asUser(a.agent, '/admin/ai-prices');
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Item[] }).items;
    };
    const mini = (items: Item[]) => items.find((i) => i.model === 'gpt-4.1-mini');
    expect(mini(await list())).toEqual({
      model: 'gpt-4.1-mini',
      input_usd_per_million: 0.4,
      cached_input_usd_per_million: 0.1,
      output_usd_per_million: 1.6,
      own: false,
      list_price: {
        input_usd_per_million: 0.4,
        cached_input_usd_per_million: 0.1,
        output_usd_per_million: 1.6,
      },
      updated_at: null,
    });

    const set = await h.asUser(a.owner, '/admin/ai-prices/gpt-4.1-mini', put(price));
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ model: 'gpt-4.1-mini', ...price, own: true });
    const added = await h.asUser(a.owner, '/admin/ai-prices/llama-3.3-70b', put(price));
    expect(((await added.json()) as Item).list_price).toBeNull();
    const [stored] =
      await sql`select count(*)::int as n from model_prices where tenant_id = ${a.tenantId}`;
    expect(stored?.n).toBe(2);

    const items = await list();
    expect(mini(items)).toMatchObject({ ...price, own: true });
    expect(items.map((i) => i.model)).toContain('llama-3.3-70b');
    expect(items.map((i) => i.model)).toEqual([...items.map((i) => i.model)].sort());

    // A change replaces the price; it does not add a second row.
    await h.asUser(
      a.owner,
      '/admin/ai-prices/gpt-4.1-mini',
      put({ ...price, output_usd_per_million: 2 }),
    );
    expect(mini(await list())?.output_usd_per_million).toBe(2);

    const removed = await h.asUser(a.owner, '/admin/ai-prices/gpt-4.1-mini', { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(mini(await list())).toMatchObject({ input_usd_per_million: 0.4, own: false });
    const again = await h.asUser(a.owner, '/admin/ai-prices/gpt-4.1-mini', { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('refuses agents, bad model names and prices out of range, and keeps tenants apart', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Prices refused A');
    const b = await newTenant('Prices refused B');
    const byAgent = await h.asUser(a.agent, '/admin/ai-prices/gpt-4.1-mini', put(price));
    expect(byAgent.status).toBe(403);

    for (const [path, body, message] of [
      [
        '/admin/ai-prices/gpt-4.1-mini',
        { ...price, output_usd_per_million: -1 },
        'output_usd_per_million',
      ],
      [
        '/admin/ai-prices/gpt-4.1-mini',
        { ...price, input_usd_per_million: 10_001 },
        'input_usd_per_million',
      ],
      [
        '/admin/ai-prices/gpt-4.1-mini',
        { input_usd_per_million: 1 },
        'cached_input_usd_per_million',
      ],
      ['/admin/ai-prices/-bad%20name', price, 'model'],
    ] as const) {
      const res = await h.asUser(a.owner, path, put(body));
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as ErrorBody).error.message).toContain(message);
    }

    // B's own price is B's: A neither sees it nor can remove it.
    await h.asUser(b.owner, '/admin/ai-prices/b-only-model', put(price));
    const aList = (await (await h.asUser(a.owner, '/admin/ai-prices')).json()) as { items: Item[] };
    expect(aList.items.map((i) => i.model)).not.toContain('b-only-model');
    const foreign = await h.asUser(a.owner, '/admin/ai-prices/b-only-model', { method: 'DELETE' });
    expect(foreign.status).toBe(404);
    const [kept] =
      await sql`select count(*)::int as n from model_prices where tenant_id = ${b.tenantId}`;
    expect(kept?.n).toBe(1);
    const none = await sql`select 1 from model_prices where tenant_id = ${a.tenantId}`;
    expect(none).toHaveLength(0);
  });
});
