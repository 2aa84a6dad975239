/** The business the operator acts on, remembered across visits (sent as X-Tenant-Id). */
const KEY = 'switchboard.tenant';

export const activeTenant = {
  get: () => localStorage.getItem(KEY),
  set: (id: string) => localStorage.setItem(KEY, id),
  forget: () => localStorage.removeItem(KEY),
};
