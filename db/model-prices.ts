import { and, asc, eq, sql } from 'drizzle-orm';
import { type ModelPrice, type PriceTable, withTenantPrices } from '../core/agent/prices';
import { NotFoundError } from '../core/errors';
import type { TenantContext } from './client';
import { modelPrices } from './schema';

/**
 * A tenant's own model prices (model_prices): every member reads them (the run costs they see are
 * priced with them), owners and admins write them (RLS).
 */

export type OwnModelPrice = { model: string; updatedAt: Date } & ModelPrice;

const columns = {
  model: modelPrices.model,
  input: modelPrices.inputUsdPerMillion,
  cachedInput: modelPrices.cachedInputUsdPerMillion,
  output: modelPrices.outputUsdPerMillion,
  updatedAt: modelPrices.updatedAt,
};

const ofTenant = (tenantId: string) => eq(modelPrices.tenantId, tenantId);

export async function listOwnModelPrices({
  tx,
  tenantId,
}: TenantContext): Promise<OwnModelPrice[]> {
  return tx
    .select(columns)
    .from(modelPrices)
    .where(ofTenant(tenantId))
    .orderBy(asc(modelPrices.model));
}

/** The prices a run of this tenant is costed at: the list prices with the tenant's own on top. */
export async function tenantPriceTable(ctx: TenantContext): Promise<PriceTable> {
  return withTenantPrices(await listOwnModelPrices(ctx));
}

/** Sets the tenant's price for a model (a new one, or a change). */
export async function setOwnModelPrice(
  { tx, tenantId }: TenantContext,
  model: string,
  price: ModelPrice,
): Promise<OwnModelPrice> {
  const values = {
    inputUsdPerMillion: price.input,
    cachedInputUsdPerMillion: price.cachedInput,
    outputUsdPerMillion: price.output,
  };
  const [row] = await tx
    .insert(modelPrices)
    .values({ tenantId, model, ...values })
    .onConflictDoUpdate({
      target: [modelPrices.tenantId, modelPrices.model],
      set: { ...values, updatedAt: sql`now()` },
    })
    .returning(columns);
  if (!row) throw new Error('model price upsert returned nothing');
  return row;
}

/** Removes the tenant's price for a model: the list price (if any) applies again. */
export async function deleteOwnModelPrice(
  { tx, tenantId }: TenantContext,
  model: string,
): Promise<void> {
  const deleted = await tx
    .delete(modelPrices)
    .where(and(ofTenant(tenantId), eq(modelPrices.model, model)))
    .returning({ model: modelPrices.model });
  if (deleted.length === 0) throw new NotFoundError('Model price', model);
}
