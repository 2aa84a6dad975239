/**
 * What a model's tokens cost, in US dollars per million tokens: the providers' list prices for
 * the models this product uses (OpenAI's pricing page, December 2026), so a run's cost can be
 * shown without setup. A run's model id is matched by its longest listed prefix
 * (`gpt-4.1-mini-2025-04-14` → `gpt-4.1-mini`); a model not listed has no known cost (null),
 * never a guessed one.
 */
export type ModelPrice = {
  /** Input tokens not read from the provider's cache. */
  input: number;
  /** Input tokens read from the provider's cache. */
  cachedInput: number;
  output: number;
};

/** Model id (or the prefix of its dated versions) → its price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

export const DEFAULT_MODEL_PRICES: PriceTable = {
  'gpt-4.1': { input: 2.0, cachedInput: 0.5, output: 8.0 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10.0 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10.0 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2.0 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
};

/**
 * The list prices with a tenant's own on top: a tenant's price replaces the list price of the same
 * name and adds the models the list lacks.
 */
export function withTenantPrices(
  own: ReadonlyArray<{ model: string } & ModelPrice>,
  defaults: PriceTable = DEFAULT_MODEL_PRICES,
): PriceTable {
  const table: Record<string, ModelPrice> = { ...defaults };
  for (const { model, input, cachedInput, output } of own) {
    table[model] = { input, cachedInput, output };
  }
  return table;
}

/** The price of a model id by its longest listed prefix; null when none is listed. */
export function priceOf(
  model: string,
  prices: PriceTable = DEFAULT_MODEL_PRICES,
): ModelPrice | null {
  let best: string | null = null;
  for (const name of Object.keys(prices)) {
    const matches = model === name || model.startsWith(`${name}-`);
    if (matches && (best === null || name.length > best.length)) best = name;
  }
  return best === null ? null : (prices[best] ?? null);
}

export type TokenUsage = {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
};

/**
 * The cost in US dollars of one model call's tokens (cached input is part of the input count, as
 * providers report it); null when the model's price is not known or no tokens were reported.
 */
export function costOf(model: string, usage: TokenUsage, prices?: PriceTable): number | null {
  const price = priceOf(model, prices);
  if (!price || (usage.inputTokens === undefined && usage.outputTokens === undefined)) return null;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens ?? 0);
  const fresh = (usage.inputTokens ?? 0) - cached;
  return (
    (fresh * price.input + cached * price.cachedInput + (usage.outputTokens ?? 0) * price.output) /
    1_000_000
  );
}

/**
 * A run's cost: the sum of its steps' (each step is one model call, with its own model and
 * tokens). Null when any step's cost is unknown (an unpriced model, or steps recorded before
 * steps carried their tokens): a partial sum would understate it.
 */
export function runCost(
  steps: ReadonlyArray<{ model?: string; usage?: TokenUsage }>,
  prices?: PriceTable,
): number | null {
  if (steps.length === 0) return null;
  let total = 0;
  for (const step of steps) {
    if (!step.model || !step.usage) return null;
    const cost = costOf(step.model, step.usage, prices);
    if (cost === null) return null;
    total += cost;
  }
  return total;
}
