import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { type MessageKey, t } from '../i18n/i18n';
import { openConversation } from '../thread/open';
import { ACTIVE, type Appointment, listAppointments, tenantZone } from './appointments';
import { addDays, dayName, LONG_DAY, localDate, timeRange, weekday } from './dates';

type Status = Appointment['status'];

/** What the agenda shows; kept while the operator looks at the inbox, reset per business. */
const span = signal<'day' | 'week'>('day');
const anchor = signal<string | null>(null);
const staffId = signal('');

export function resetAgenda() {
  span.value = 'day';
  anchor.value = null;
  staffId.value = '';
}

const STATUS: Record<Status, MessageKey> = {
  pending: 'apptPending',
  confirmed: 'apptConfirmed',
  cancelled: 'apptCancelled',
  completed: 'apptCompleted',
  no_show: 'apptNoShow',
};

type Action = 'confirm' | 'cancel' | 'complete' | 'no-show';

/** Which actions each status allows (the API refuses the others with a 409). */
function actionsFor(status: Status): Array<[Action, MessageKey]> {
  if (!ACTIVE.includes(status)) return [];
  return [
    ...(status === 'pending' ? [['confirm', 'confirm'] as [Action, MessageKey]] : []),
    ['cancel', 'cancel'],
    ['complete', 'markCompleted'],
    ['no-show', 'markNoShow'],
  ];
}

function act(id: string, action: Action) {
  const params = { params: { path: { id } } };
  switch (action) {
    case 'confirm':
      return call(() => api.POST('/admin/appointments/{id}/confirm', params));
    case 'cancel':
      // The API's default, said out loud: the customer hears about the cancellation.
      return call(() =>
        api.POST('/admin/appointments/{id}/cancel', { ...params, body: { notify_customer: true } }),
      );
    case 'complete':
      return call(() => api.POST('/admin/appointments/{id}/complete', params));
    case 'no-show':
      return call(() => api.POST('/admin/appointments/{id}/no-show', params));
  }
}

function range(day: string) {
  if (span.value === 'day') return { from: day, to: day };
  const from = addDays(day, 1 - weekday(day));
  return { from, to: addDays(from, 6) };
}

export function Agenda() {
  const [zone, setZone] = useState<string | null>(null);
  const [staff, setStaff] = useState<Schemas['StaffMember'][]>([]);
  const [items, setItems] = useState<Appointment[] | null>(null);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);

  useEffect(() => {
    tenantZone().then((z) => {
      anchor.value ??= localDate(new Date(), z);
      setZone(z);
    });
    call(() => api.GET('/admin/staff'))
      .then(({ items }) => setStaff(items))
      .catch((e: Error) => setError(e.message));
  }, []);

  const day = anchor.value;
  const { from, to } = day ? range(day) : { from: '', to: '' };
  // `version` asks for a reload after an action.
  useEffect(() => {
    if (!from) return;
    let current = true;
    setError('');
    listAppointments({ from, to, ...(staffId.value ? { staff_id: staffId.value } : {}) })
      .then((list) => current && setItems(list))
      .catch((e: Error) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [from, to, staffId.value, version]);

  const move = (sign: number) => {
    if (anchor.value) anchor.value = addDays(anchor.value, sign * (span.value === 'day' ? 1 : 7));
  };

  async function onAction(id: string, action: Action) {
    try {
      await act(id, action);
      setVersion((v) => v + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  }

  return (
    <main class="agenda" id="agenda" aria-labelledby="agenda-range">
      <div class="agenda-controls">
        <h1 id="agenda-range">
          {!from
            ? t('agenda')
            : from === to
              ? dayName(from, LONG_DAY)
              : `${dayName(from, LONG_DAY)} – ${dayName(to, LONG_DAY)}`}
        </h1>
        <div>
          {(['day', 'week'] as const).map((s) => (
            <button
              key={s}
              id={`agenda-${s}`}
              type="button"
              aria-pressed={span.value === s}
              onClick={() => {
                span.value = s;
              }}
            >
              {t(s)}
            </button>
          ))}
        </div>
        <div>
          <button
            id="agenda-prev"
            type="button"
            aria-label={t('previous')}
            onClick={() => move(-1)}
          >
            <span aria-hidden="true">‹</span>
          </button>
          <button
            id="agenda-today"
            type="button"
            onClick={() => {
              if (zone) anchor.value = localDate(new Date(), zone);
            }}
          >
            {t('today')}
          </button>
          <button id="agenda-next" type="button" aria-label={t('next')} onClick={() => move(1)}>
            <span aria-hidden="true">›</span>
          </button>
        </div>
        <select
          id="agenda-staff"
          aria-label={t('staff')}
          value={staffId.value}
          onChange={(e) => {
            staffId.value = e.currentTarget.value;
          }}
        >
          <option value="">{t('allStaff')}</option>
          {staff.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </div>
      <p id="agenda-error" role="alert">
        {error}
      </p>
      <div id="agenda-days">
        {zone && items && from && (
          <Days from={from} to={to} items={items} zone={zone} onAction={onAction} />
        )}
      </div>
    </main>
  );
}

function Days(props: {
  from: string;
  to: string;
  items: Appointment[];
  zone: string;
  onAction: (id: string, action: Action) => void;
}) {
  const { from, to, items, zone } = props;
  const byDay = new Map<string, Appointment[]>();
  for (let day = from; day <= to; day = addDays(day, 1)) byDay.set(day, []);
  for (const a of items) byDay.get(localDate(new Date(a.starts_at), zone))?.push(a);
  return (
    <>
      {[...byDay].map(([day, list]) => (
        <section key={day} class="agenda-day">
          {/* A day view's one day is already the page heading. */}
          {from !== to && <h2>{dayName(day, LONG_DAY)}</h2>}
          {list.length ? (
            <ol>
              {list.map((a) => (
                <AppointmentItem key={a.id} a={a} zone={zone} onAction={props.onAction} />
              ))}
            </ol>
          ) : (
            <p class="muted">{t('noAppointments')}</p>
          )}
        </section>
      ))}
    </>
  );
}

function AppointmentItem(props: {
  a: Appointment;
  zone: string;
  onAction: (id: string, action: Action) => void;
}) {
  const { a, zone } = props;
  const summary = (
    <>
      <time dateTime={a.starts_at} class="appt-time">
        {timeRange(a, zone)}
      </time>
      <span class="appt-service" dir="auto">
        {a.service_name}
      </span>
      <span class="appt-customer" dir="auto">
        {a.contact_name ?? t('customer')}
      </span>
      <span class="muted" dir="auto">
        {a.staff_name}
      </span>
    </>
  );
  const conversationId = a.conversation_id;
  return (
    <li class={`appt ${a.status}`}>
      {/* The whole summary opens the chat when there is one: one big target, not a small link. */}
      {conversationId ? (
        <button
          type="button"
          class="appt-open"
          onClick={() => void openConversation(conversationId)}
        >
          {summary}
        </button>
      ) : (
        <div class="appt-open">{summary}</div>
      )}
      <span class="badge status">{t(STATUS[a.status])}</span>
      <div class="appt-actions">
        {actionsFor(a.status).map(([action, label]) => (
          <button key={action} type="button" onClick={() => props.onAction(a.id, action)}>
            {t(label)}
          </button>
        ))}
      </div>
    </li>
  );
}
