import { describe, expect, it } from 'vitest';
import { costOf, priceOf, runCost, withTenantPrices } from './prices';

describe('model prices', () => {
  it('match a model id by its longest listed prefix, never a shorter family by accident', () => {
    expect(priceOf('gpt-4.1-mini-2025-04-14')).toEqual({
      input: 0.4,
      cachedInput: 0.1,
      output: 1.6,
    });
    expect(priceOf('gpt-4.1-2025-04-14')?.input).toBe(2.0);
    expect(priceOf('gpt-4.1-nano')?.input).toBe(0.1);
    expect(priceOf('gpt-4o-mini')?.output).toBe(0.6);
    // Not a prefix at a dash: not the same model.
    expect(priceOf('gpt-4.10')).toBeNull();
    expect(priceOf('mock-model-id')).toBeNull();
    expect(priceOf('offline-demo')).toBeNull();
  });

  it('cost input, cached input and output at their own prices', () => {
    // 1,000 input of which 400 cached, 100 output on gpt-4.1-mini:
    // 600 × 0.40 + 400 × 0.10 + 100 × 1.60 = 240 + 40 + 160 = 440 per million → $0.00044.
    expect(
      costOf('gpt-4.1-mini', { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 100 }),
    ).toBeCloseTo(0.00044, 10);
    expect(costOf('gpt-4.1', { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBeCloseTo(10);
    // More cached than input (a provider's odd report) never makes a negative cost.
    expect(costOf('gpt-4.1-mini', { inputTokens: 10, cachedInputTokens: 50 })).toBeCloseTo(
      10 * 0.1 * 1e-6,
      12,
    );
    expect(costOf('gpt-4.1-mini', {})).toBeNull();
    expect(costOf('unknown-model', { inputTokens: 10 })).toBeNull();
  });

  it("sum a run's steps, or say nothing when one step's cost is unknown", () => {
    const steps = [
      { model: 'gpt-4.1-mini-2025-04-14', usage: { inputTokens: 1500, outputTokens: 40 } },
      { model: 'gpt-4.1-mini-2025-04-14', usage: { inputTokens: 1600, outputTokens: 30 } },
    ];
    expect(runCost(steps)).toBeCloseTo((3100 * 0.4 + 70 * 1.6) / 1e6, 12);
    expect(runCost([...steps, { model: 'mock-model-id', usage: { inputTokens: 1 } }])).toBeNull();
    expect(runCost([{ text: 'an older run: no model per step' } as never])).toBeNull();
    expect(runCost([])).toBeNull();
  });
});

describe("a tenant's own prices", () => {
  const own = [
    { model: 'gpt-4.1-mini', input: 0.3, cachedInput: 0.05, output: 1.2 },
    { model: 'llama-3.3-70b', input: 0.6, cachedInput: 0.6, output: 0.6 },
  ];

  it('replace the list price of the same name and add models the list lacks', () => {
    const table = withTenantPrices(own);
    expect(priceOf('gpt-4.1-mini-2025-04-14', table)).toEqual({
      input: 0.3,
      cachedInput: 0.05,
      output: 1.2,
    });
    expect(priceOf('llama-3.3-70b-versatile', table)?.output).toBe(0.6);
    // The rest of the list stays, and the defaults themselves are not changed.
    expect(priceOf('gpt-4.1-2025-04-14', table)?.input).toBe(2.0);
    expect(priceOf('gpt-4.1-mini')?.input).toBe(0.4);
    expect(priceOf('llama-3.3-70b')).toBeNull();
  });

  it('price a run at the tenant’s rates', () => {
    const steps = [
      { model: 'gpt-4.1-mini-2025-04-14', usage: { inputTokens: 2000, outputTokens: 500 } },
    ];
    expect(runCost(steps, withTenantPrices(own))).toBeCloseTo((2000 * 0.3 + 500 * 1.2) / 1e6, 12);
    expect(runCost(steps)).toBeCloseTo((2000 * 0.4 + 500 * 1.6) / 1e6, 12);
  });
});
