import { signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';

export type DashboardData = Schemas['Dashboard'];

/** The periods the page offers, in days (the API answers at most 92). */
export const PERIODS = [7, 30, 90] as const;
export const period = signal<(typeof PERIODS)[number]>(30);
/** The dashboard as last read; null until then. */
export const dashboard = signal<DashboardData | null>(null);
export const dashboardError = signal('');

let lastAsked = 0;

/** Reads the dashboard of the chosen period; an answer to an older choice is dropped. */
export async function loadDashboard(): Promise<void> {
  const asked = ++lastAsked;
  dashboardError.value = '';
  try {
    const data = await call(() =>
      api.GET('/admin/dashboard', { params: { query: { days: period.value } } }),
    );
    if (asked === lastAsked) dashboard.value = data;
  } catch (error) {
    if (asked === lastAsked) dashboardError.value = (error as Error).message;
  }
}

export function resetDashboard() {
  dashboard.value = null;
  dashboardError.value = '';
}
