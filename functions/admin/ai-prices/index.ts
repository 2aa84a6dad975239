import { z } from '@hono/zod-openapi';
import { DEFAULT_MODEL_PRICES, type ModelPrice } from '../../../core/agent/prices';
import {
  deleteOwnModelPrice,
  listOwnModelPrices,
  type OwnModelPrice,
  setOwnModelPrice,
} from '../../../db/model-prices';
import type { App } from '../../app';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import { field, jsonBody, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/ai-prices`: what the AI's tokens cost this business, per model. The list prices
 * (core/agent/prices.ts) apply until an owner or admin sets the tenant's own (a negotiated rate,
 * a model the list lacks); removing it brings the list price back. Every member reads them, since
 * the costs they see are priced with them. A run's cost is fixed when it finishes: a change
 * prices later runs, not earlier ones.
 */

const route = operatorRoutes('ai-prices');

/** US dollars per million tokens; the dearest model on any list is far below this. */
export const PRICE_MAX = 10_000;

/** A model id or the prefix of its dated versions, as the provider names them; no slashes (a path segment). */
const modelName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/,
    'must be a model id: letters, digits, ".", "_", ":" and "-", at most 100',
  )
  .openapi({
    description:
      'A model id, or the prefix of its dated versions (`gpt-4.1-mini` prices `gpt-4.1-mini-2025-04-14`)',
    example: 'gpt-4.1-mini',
  });

const usdPerMillion = (description: string, example: number) =>
  z
    .number()
    .min(0)
    .max(PRICE_MAX)
    .openapi({ description: `${description}, US dollars per million tokens`, example });

const doc = {
  input: ['Input tokens not read from the provider’s cache', 0.4],
  cached: ['Input tokens read from the provider’s cache', 0.1],
  output: ['Output tokens', 1.6],
} as const;

const priceInput = z
  .object({
    input_usd_per_million: usdPerMillion(...doc.input),
    cached_input_usd_per_million: usdPerMillion(...doc.cached),
    output_usd_per_million: usdPerMillion(...doc.output),
  })
  .openapi('ModelPriceInput', { description: "The tenant's price for a model" });

const listPrice = z
  .object({
    input_usd_per_million: usdPerMillion(...doc.input),
    cached_input_usd_per_million: usdPerMillion(...doc.cached),
    output_usd_per_million: usdPerMillion(...doc.output),
  })
  .nullable()
  .openapi('ModelListPrice', {
    description: "The provider's list price; null for a model the list lacks",
    example: {
      input_usd_per_million: 0.4,
      cached_input_usd_per_million: 0.1,
      output_usd_per_million: 1.6,
    },
  });

const modelPrice = z
  .object({
    model: modelName,
    input_usd_per_million: usdPerMillion(...doc.input),
    cached_input_usd_per_million: usdPerMillion(...doc.cached),
    output_usd_per_million: usdPerMillion(...doc.output),
    own: field.boolean("Whether this is the tenant's own price rather than the list price", true),
    list_price: listPrice,
    updated_at: field.nullableString(
      "When the tenant's own price last changed (ISO 8601); null for a list price",
      '2025-03-14T09:26:53.589Z',
    ),
  })
  .openapi('ModelPrice', { description: 'What a model’s tokens cost this business' });

type ModelPriceItem = z.infer<typeof modelPrice>;

const fromPrice = (price: ModelPrice) => ({
  input_usd_per_million: price.input,
  cached_input_usd_per_million: price.cachedInput,
  output_usd_per_million: price.output,
});

function toItem(model: string, own: OwnModelPrice | undefined): ModelPriceItem {
  const list = DEFAULT_MODEL_PRICES[model];
  const price = own ?? list;
  if (!price) throw new Error(`no price for ${model}`);
  return {
    model,
    ...fromPrice(price),
    own: own !== undefined,
    list_price: list ? fromPrice(list) : null,
    updated_at: own?.updatedAt.toISOString() ?? null,
  };
}

const modelParams = z.object({
  model: modelName.openapi({ param: { name: 'model', in: 'path' } }),
});

const listRoute = route('get', '/ai-prices', {
  operationId: 'listModelPrices',
  summary: 'The model prices runs are costed at: the list prices and the tenant’s own, by model',
  responses: { 200: jsonResponse('Every priced model', itemsOf(modelPrice, 'Models, by name')) },
});

const ownersAndAdmins = [requireRole('owner', 'admin')];

const setRoute = route('put', '/ai-prices/{model}', {
  operationId: 'setModelPrice',
  summary: "Set the tenant's own price for a model (owners and admins)",
  middleware: ownersAndAdmins,
  request: { params: modelParams, body: jsonBody(priceInput) },
  responses: { 200: jsonResponse('The model’s price now', modelPrice) },
});

const deleteRoute = route('delete', '/ai-prices/{model}', {
  operationId: 'deleteModelPrice',
  summary:
    "Remove the tenant's own price for a model: its list price applies again (owners and admins)",
  middleware: ownersAndAdmins,
  request: { params: modelParams },
  responses: { 204: { description: 'Removed' } },
});

export function registerAiPrices(app: App) {
  app.openapi(listRoute, async (c) => {
    const own = await asCurrentOperator(c, ({ ctx }) => listOwnModelPrices(ctx));
    const byModel = new Map(own.map((row) => [row.model, row]));
    const models = [...new Set([...Object.keys(DEFAULT_MODEL_PRICES), ...byModel.keys()])].sort();
    return c.json({ items: models.map((model) => toItem(model, byModel.get(model))) }, 200);
  });

  app.openapi(setRoute, async (c) => {
    const { model } = c.req.valid('param');
    const body = c.req.valid('json');
    const row = await asCurrentOperator(c, ({ ctx }) =>
      setOwnModelPrice(ctx, model, {
        input: body.input_usd_per_million,
        cachedInput: body.cached_input_usd_per_million,
        output: body.output_usd_per_million,
      }),
    );
    return c.json(toItem(model, row), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { model } = c.req.valid('param');
    await asCurrentOperator(c, ({ ctx }) => deleteOwnModelPrice(ctx, model));
    return c.body(null, 204);
  });
}
