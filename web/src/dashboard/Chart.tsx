import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { direction, language, t } from '../i18n/i18n';

/**
 * One chart of the dashboard: a uPlot canvas (loaded on first use, so the page's own script stays
 * small: `import('uplot')` is a chunk of its own, dev/web-build.ts), a legend, a sentence that
 * says what the chart shows, and the numbers as a table. The canvas is hidden from screen readers:
 * the sentence and the table are its text. In Arabic, time runs from right to left and the value
 * axis is on the right.
 */

export type Series = {
  label: string;
  values: Array<number | null>;
  color: string;
  /** Bars for counts; lines for times and where bars of several series would hide each other. */
  bars?: boolean;
};

let loading: Promise<typeof uPlot> | null = null;
const loadUplot = () => {
  loading ??= import('uplot').then((m) => m.default);
  return loading;
};

/** A local date (YYYY-MM-DD) as "3 Nov" in the page's language; the date itself, not an instant. */
export function dayLabel(day: string, long = false): string {
  return new Intl.DateTimeFormat(language.value, {
    day: 'numeric',
    month: long ? 'long' : 'short',
    timeZone: 'UTC',
  }).format(new Date(`${day}T00:00:00Z`));
}

const HEIGHT = 180;

export function Chart(props: {
  id: string;
  title: string;
  days: string[];
  series: Series[];
  /** How a value reads: a count by default. */
  format?: (value: number) => string;
  /** The sentence for screen readers and everyone (summaryOf by default). */
  summary?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const format = props.format ?? count;
  const rtl = direction.value === 'rtl';
  // The chart is drawn again only when what it shows changes (a new period, language or direction).
  const drawn = JSON.stringify([props.days, props.series, rtl, language.value]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: uPlot | null = null;
    let observer: ResizeObserver | null = null;
    let gone = false;
    void loadUplot().then((UPlot) => {
      if (gone) return;
      // Bars of two series side by side (each on its half of the day), of one centred.
      const barSeries = props.series.filter((s) => s.bars).length;
      const barPaths = (k: number) =>
        barSeries > 1
          ? UPlot.paths.bars?.({ size: [0.4, 12], align: k === 0 ? -1 : 1 })
          : UPlot.paths.bars?.({ size: [0.6, 24] });
      let barIndex = 0;
      const opts: uPlot.Options = {
        width: Math.max(el.clientWidth, 200),
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: false, dir: rtl ? -1 : 1 },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          {
            side: 2,
            stroke: '#555',
            grid: { show: false },
            // Whole days only: a split between two days says nothing.
            incrs: [1, 2, 7, 14, 30],
            values: (_u, splits) =>
              splits.map((i) =>
                Number.isInteger(i) && props.days[i] ? dayLabel(props.days[i]) : '',
              ),
          },
          {
            side: rtl ? 1 : 3,
            stroke: '#555',
            grid: { stroke: '#e5e5e5', width: 1 },
            size: 56,
            values: (_u, splits) => splits.map((v) => format(v)),
          },
        ],
        series: [
          {},
          ...props.series.map((s) => {
            const paths = s.bars ? barPaths(barIndex++) : undefined;
            return {
              label: s.label,
              stroke: s.color,
              width: 2,
              ...(paths ? { paths, fill: `${s.color}cc`, points: { show: false } } : {}),
              spanGaps: false,
            };
          }),
        ],
      };
      const data: uPlot.AlignedData = [
        props.days.map((_, i) => i),
        ...props.series.map((s) => s.values),
      ];
      plot = new UPlot(opts, data, el);
      observer = new ResizeObserver(() => {
        if (plot && el.clientWidth > 0) plot.setSize({ width: el.clientWidth, height: HEIGHT });
      });
      observer.observe(el);
    });
    return () => {
      gone = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [drawn]);

  const titleId = `${props.id}-title`;
  return (
    <figure class="chart" id={props.id} aria-labelledby={titleId}>
      <figcaption id={titleId}>{props.title}</figcaption>
      <div class="chart-canvas" ref={box} aria-hidden="true" dir="ltr" />
      <ul class="chart-legend">
        {props.series.map((s) => (
          <li key={s.label}>
            <span class="chart-swatch" style={{ background: s.color }} />
            {s.label}
          </li>
        ))}
      </ul>
      <p class="chart-summary">{props.summary ?? summaryOf(props.series, props.days, format)}</p>
      <details class="chart-numbers">
        <summary>{t('dashboardShowNumbers')}</summary>
        {/* Scrolls sideways on a phone: a stop for the keyboard, named for screen readers. */}
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling table must be reachable by keyboard (axe: scrollable-region-focusable) */}
        <section class="chart-table" tabIndex={0} aria-label={props.title}>
          <table>
            <caption class="visually-hidden">{props.title}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dashboardDay')}</th>
                {props.series.map((s) => (
                  <th key={s.label} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.days.map((day, i) => (
                <tr key={day}>
                  <th scope="row">{dayLabel(day)}</th>
                  {props.series.map((s) => {
                    const v = s.values[i];
                    return <td key={s.label}>{v === null || v === undefined ? '–' : format(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </details>
    </figure>
  );
}

export function count(value: number): string {
  return new Intl.NumberFormat(language.value, { maximumFractionDigits: 1 }).format(value);
}

/** Per series: its total and its busiest day, or that there was none. */
function summaryOf(series: Series[], days: string[], format: (v: number) => string): string {
  return series
    .map((s) => {
      let total = 0;
      let max = -1;
      let maxAt = -1;
      s.values.forEach((v, i) => {
        if (v === null) return;
        total += v;
        if (v > max) {
          max = v;
          maxAt = i;
        }
      });
      const day = days[maxAt];
      if (total === 0 || !day) return t('dashboardSummaryNone', { series: s.label });
      return t('dashboardSummary', {
        series: s.label,
        total: format(total),
        day: dayLabel(day, true),
        max: format(max),
      });
    })
    .join(' ');
}
