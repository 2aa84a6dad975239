import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { dateTime, type MessageKey, t, usd } from '../i18n/i18n';

type Run = Schemas['AgentRun'];

/** The run whose trace is open, and the button that opened it (focus goes back there). */
const shown = signal<{ correlationId: string; opener: HTMLElement | null } | null>(null);

/** "Why?" under an AI reply: opens the trace of the run that wrote it. */
export function WhyButton({ correlationId }: { correlationId: string }) {
  return (
    <button
      type="button"
      class="why"
      aria-haspopup="dialog"
      onClick={(e) => {
        shown.value = { correlationId, opener: e.currentTarget };
      }}
    >
      {t('why')}
    </button>
  );
}

const OUTCOMES: Record<Run['outcome'], MessageKey> = {
  running: 'outcomeRunning',
  replied: 'outcomeReplied',
  superseded: 'outcomeSuperseded',
  locked: 'outcomeLocked',
  handed_off: 'outcomeHandedOff',
  failed: 'outcomeFailed',
};

/**
 * The trace of one agent run (GET /admin/logs/ai/{correlation_id}) in a modal <dialog>: the
 * browser moves focus into it, keeps it there and closes it on Escape; closing returns focus to
 * the "Why?" that opened it. A full-screen sheet on phones (app.css).
 */
export function TraceDialog() {
  const dialog = useRef<HTMLDialogElement>(null);
  const open = shown.value;
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    if (!open) return;
    let live = true;
    setRun(null);
    setError('');
    if (!dialog.current?.open) dialog.current?.showModal();
    call(() =>
      api.GET('/admin/logs/ai/{correlation_id}', {
        params: { path: { correlation_id: open.correlationId } },
      }),
    )
      .then((loaded) => {
        if (live) setRun(loaded);
      })
      .catch((e: Error) => {
        if (live) setError(t('traceNotLoaded', { reason: e.message }));
      });
    return () => {
      live = false;
    };
  }, [open]);

  return (
    <dialog
      ref={dialog}
      id="trace"
      class="trace"
      aria-labelledby="trace-title"
      onClose={() => {
        const opener = shown.value?.opener;
        shown.value = null;
        if (opener?.isConnected) opener.focus();
      }}
    >
      <header class="trace-header">
        <h2 id="trace-title">{t('traceTitle')}</h2>
        <button
          type="button"
          class="trace-close"
          aria-label={t('close')}
          onClick={() => dialog.current?.close()}
        >
          <span aria-hidden="true">×</span>
        </button>
      </header>
      {open && (run ? <RunView run={run} /> : <p role="status">{error || t('loading')}</p>)}
    </dialog>
  );
}

function RunView({ run }: { run: Run }) {
  const tokensIn = run.usage.inputTokens;
  const tokensOut = run.usage.outputTokens;
  return (
    <div class="trace-body">
      <dl class="trace-facts">
        <dt>{t('traceModel')}</dt>
        <dd>
          <bdi>{run.model}</bdi>
          {run.offline_demo && ` (${t('traceOfflineDemo')})`}
        </dd>
        <dt>{t('traceOutcome')}</dt>
        <dd>{t(OUTCOMES[run.outcome])}</dd>
        <dt>{t('traceTokens')}</dt>
        <dd>
          {t('traceTokensInOut', {
            in: tokensIn ?? '—',
            out: tokensOut ?? '—',
          })}
        </dd>
        <dt>{t('traceLatency')}</dt>
        <dd>{run.latency_ms === null ? '—' : t('traceSeconds', { s: seconds(run.latency_ms) })}</dd>
        <dt>{t('traceStarted')}</dt>
        <dd>
          <time dateTime={run.started_at}>{dateTime(run.started_at)}</time>
        </dd>
        <dt>{t('traceCost')}</dt>
        <dd>{run.cost_usd === null ? t('traceCostUnknown') : usd(run.cost_usd)}</dd>
        {run.error && (
          <>
            <dt>{t('traceError')}</dt>
            <dd class="error" dir="auto">
              {run.error}
            </dd>
          </>
        )}
      </dl>
      <h3>{t('traceSteps')}</h3>
      {run.steps.length === 0 ? (
        <p class="muted">{t('traceNoSteps')}</p>
      ) : (
        <ol class="trace-steps">
          {run.steps.map((step, index) => (
            <li key={index} class="trace-step">
              <span class="trace-step-number">{t('traceStep', { n: index + 1 })}</span>
              {step.latency_ms !== undefined && (
                <span class="trace-step-meta muted">
                  {' · '}
                  {step.model && (
                    <>
                      <bdi>{step.model}</bdi>
                      {' · '}
                    </>
                  )}
                  {t('traceStepMeta', {
                    s: seconds(step.latency_ms),
                    m: step.model_ms === undefined ? '—' : seconds(step.model_ms),
                    in: step.usage?.input_tokens ?? '—',
                    out: step.usage?.output_tokens ?? '—',
                  })}
                </span>
              )}
              {step.text && (
                <div class="trace-text" dir="auto">
                  {step.text}
                </div>
              )}
              {step.tool_calls?.map((c, i) => (
                <div key={`c${i}`} class="trace-tool">
                  <span>{t('traceToolCall', { tool: c.tool_name })}</span>
                  <Json value={c.input} />
                </div>
              ))}
              {step.tool_results?.map((r, i) => (
                <ToolResult
                  key={`r${i}`}
                  tool={r.tool_name}
                  output={r.output}
                  latencyMs={r.latency_ms}
                />
              ))}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** A tool's answer; a tool that threw is recorded as `{ error }` (functions/agent/turn.ts). */
function ToolResult({
  tool,
  output,
  latencyMs,
}: {
  tool: string;
  output: unknown;
  latencyMs?: number | undefined;
}) {
  const failure =
    typeof output === 'object' &&
    output !== null &&
    'error' in output &&
    Object.keys(output).length === 1
      ? String((output as { error: unknown }).error)
      : null;
  return (
    <div class={`trace-tool ${failure === null ? '' : 'failed'}`}>
      <span>
        {t(failure === null ? 'traceToolResult' : 'traceToolError', { tool })}
        {latencyMs !== undefined && (
          <span class="muted"> · {t('traceToolTime', { ms: latencyMs })}</span>
        )}
      </span>
      {failure === null ? (
        <Json value={output} />
      ) : (
        <div class="error" dir="auto">
          {failure}
        </div>
      )}
    </div>
  );
}

/** JSON wrapped and scrolled inside its own box: a long tool answer never widens the screen. */
function Json({ value }: { value: unknown }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must be reachable by keyboard (axe: scrollable-region-focusable)
    <pre class="json" dir="ltr" tabIndex={0}>
      {JSON.stringify(value, null, 2) ?? String(value)}
    </pre>
  );
}

const seconds = (ms: number) => (ms / 1000).toLocaleString(undefined, { maximumFractionDigits: 1 });
