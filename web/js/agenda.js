import { activeTenant, api, post } from './api.js';

const $ = (id) => document.getElementById(id);
const DAY = 86_400_000;
const ACTIVE = ['pending', 'confirmed'];

const el = (tag, props = {}, children = []) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

const state = { span: 'day', anchor: null, zone: null, onOpen: () => {} };

/** The business's time zone (the API's local dates are in it), once per business. */
const zones = new Map();
export async function tenantZone() {
  const tenant = activeTenant.get();
  if (!zones.has(tenant)) {
    // Without it the times show as the API returns them (UTC), never in the browser's zone.
    const zone = await api('/admin/settings')
      .then((s) => s.time_zone)
      .catch(() => 'UTC');
    zones.set(tenant, zone);
  }
  return zones.get(tenant);
}

/** `YYYY-MM-DD` of an instant in `zone` (en-CA writes dates that way). */
const localDate = (instant, zone) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(instant);
/** Local dates are calendar days: arithmetic on them in UTC has no clock changes. */
const addDays = (date, days) =>
  new Date(Date.parse(`${date}T00:00Z`) + days * DAY).toISOString().slice(0, 10);
const weekday = (date) => new Date(`${date}T00:00Z`).getUTCDay() || 7; // ISO: Monday 1
const dayName = (date, style) =>
  new Intl.DateTimeFormat(undefined, { ...style, timeZone: 'UTC' }).format(
    new Date(`${date}T00:00Z`),
  );

/** "10:00 – 10:45 AM" in the browser's language, on the business's clock. */
export function timeRange(appointment, zone) {
  const format = new Intl.DateTimeFormat(undefined, {
    hour: 'numeric',
    minute: '2-digit',
    timeZone: zone,
  });
  return format.formatRange(new Date(appointment.starts_at), new Date(appointment.ends_at));
}

const dateAndTime = (appointment, zone) =>
  `${new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: zone }).format(new Date(appointment.starts_at))}, ${timeRange(appointment, zone)}`;

/** A contact's pending and confirmed appointments in the next 30 days, soonest first. */
export async function upcomingAppointments(contactId) {
  const zone = await tenantZone();
  const from = localDate(new Date(), zone);
  const params = new URLSearchParams({ from, to: addDays(from, 30) });
  const { items } = await api(`/admin/appointments?${params}`);
  const now = Date.now();
  return items
    .filter((a) => a.contact_id === contactId && ACTIVE.includes(a.status))
    .filter((a) => Date.parse(a.ends_at) > now)
    .map((a) => ({ ...a, when: dateAndTime(a, zone) }));
}

/** `onOpen(conversationId)` shows a conversation in the inbox. */
export async function startAgenda(onOpen) {
  state.onOpen = onOpen;
  state.zone = await tenantZone();
  state.anchor ??= localDate(new Date(), state.zone);
  await loadStaff();
  await refresh();
}

/** A new business: its own zone, staff and today. */
export function resetAgenda() {
  state.anchor = null;
  $('agenda-staff').replaceChildren(new Option('All staff', ''));
}

async function loadStaff() {
  const picker = $('agenda-staff');
  const chosen = picker.value;
  const { items } = await api('/admin/staff');
  picker.replaceChildren(
    new Option('All staff', ''),
    ...items.map((s) => new Option(s.name, s.id, false, s.id === chosen)),
  );
}

function range() {
  if (state.span === 'day') return { from: state.anchor, to: state.anchor };
  const from = addDays(state.anchor, 1 - weekday(state.anchor));
  return { from, to: addDays(from, 6) };
}

async function refresh() {
  const { from, to } = range();
  const params = new URLSearchParams({ from, to });
  if ($('agenda-staff').value) params.set('staff_id', $('agenda-staff').value);
  const long = { weekday: 'long', day: 'numeric', month: 'long' };
  $('agenda-range').textContent =
    from === to ? dayName(from, long) : `${dayName(from, long)} – ${dayName(to, long)}`;
  $('agenda-day').setAttribute('aria-pressed', String(state.span === 'day'));
  $('agenda-week').setAttribute('aria-pressed', String(state.span === 'week'));
  $('agenda-error').textContent = '';
  try {
    const { items } = await api(`/admin/appointments?${params}`);
    render(from, to, items);
  } catch (error) {
    $('agenda-error').textContent = error.message;
  }
}

function render(from, to, items) {
  const byDay = new Map();
  for (let day = from; day <= to; day = addDays(day, 1)) byDay.set(day, []);
  for (const a of items) byDay.get(localDate(new Date(a.starts_at), state.zone))?.push(a);
  $('agenda-days').replaceChildren(
    ...[...byDay].map(([day, list]) =>
      el('section', { className: 'agenda-day' }, [
        // A day view's one day is already the page heading.
        ...(from === to
          ? []
          : [
              el('h2', {
                textContent: dayName(day, { weekday: 'long', day: 'numeric', month: 'long' }),
              }),
            ]),
        list.length
          ? el('ol', {}, list.map(appointmentItem))
          : el('p', { className: 'muted', textContent: 'No appointments.' }),
      ]),
    ),
  );
}

const STATUS = {
  pending: 'Pending',
  confirmed: 'Confirmed',
  cancelled: 'Cancelled',
  completed: 'Completed',
  no_show: 'No-show',
};

/** Which actions each status allows (the API refuses the others with a 409). */
function actionsFor(status) {
  if (!ACTIVE.includes(status)) return [];
  return [
    ...(status === 'pending' ? [['confirm', 'Confirm']] : []),
    ['cancel', 'Cancel'],
    ['complete', 'Completed'],
    ['no-show', 'No-show'],
  ];
}

function appointmentItem(a) {
  const summary = [
    el('time', {
      dateTime: a.starts_at,
      className: 'appt-time',
      textContent: timeRange(a, state.zone),
    }),
    el('span', { className: 'appt-service', textContent: a.service_name, dir: 'auto' }),
    el('span', {
      className: 'appt-customer',
      textContent: a.contact_name ?? 'Customer',
      dir: 'auto',
    }),
    el('span', { className: 'muted', textContent: a.staff_name, dir: 'auto' }),
  ];
  // The whole summary opens the chat when there is one: one big target, not a small link.
  const main = a.conversation_id
    ? el(
        'button',
        { type: 'button', className: 'appt-open', onclick: () => state.onOpen(a.conversation_id) },
        summary,
      )
    : el('div', { className: 'appt-open' }, summary);
  const actions = actionsFor(a.status).map(([segment, label]) =>
    el('button', { type: 'button', textContent: label, onclick: () => act(a.id, segment) }),
  );
  return el('li', { className: `appt ${a.status}` }, [
    main,
    el('span', { className: 'badge status', textContent: STATUS[a.status] }),
    el('div', { className: 'appt-actions' }, actions),
  ]);
}

async function act(id, segment) {
  try {
    await post(`/admin/appointments/${id}/${segment}`);
    await refresh();
  } catch (error) {
    $('agenda-error').textContent = error.message;
  }
}

const move = (sign) => {
  state.anchor = addDays(state.anchor, sign * (state.span === 'day' ? 1 : 7));
  void refresh();
};
$('agenda-prev').addEventListener('click', () => move(-1));
$('agenda-next').addEventListener('click', () => move(1));
$('agenda-today').addEventListener('click', () => {
  state.anchor = localDate(new Date(), state.zone);
  void refresh();
});
for (const span of ['day', 'week']) {
  $(`agenda-${span}`).addEventListener('click', () => {
    state.span = span;
    void refresh();
  });
}
$('agenda-staff').addEventListener('change', refresh);
