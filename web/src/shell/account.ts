import { computed, signal } from '@preact/signals';
import { ApiError, api, call, type Schemas } from '../api/client';
import { activeTenant } from '../session/tenant';

/** Who is signed in and which business the page acts on (GET /admin/me). */
export const me = signal<Schemas['Me'] | null>(null);

/** Owners and admins change how the business works (settings, knowledge, webhooks); agents do not. */
export const canManage = computed(() => me.value?.role === 'owner' || me.value?.role === 'admin');

export async function loadMe(): Promise<void> {
  let who: Schemas['Me'];
  try {
    who = await call(() => api.GET('/admin/me'));
  } catch (error) {
    // A remembered business the operator no longer belongs to: fall back to their first one.
    if (!(error instanceof ApiError) || error.status !== 403 || !activeTenant.get()) throw error;
    activeTenant.forget();
    who = await call(() => api.GET('/admin/me'));
  }
  activeTenant.set(who.tenant_id);
  me.value = who;
}

export async function switchTenant(tenantId: string): Promise<void> {
  activeTenant.set(tenantId);
  await loadMe();
}
