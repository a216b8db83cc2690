/**
 * Charts drawn as plain SVG (no chart library: the dashboard stays small and
 * loads nothing from outside). A time-series chart with lines or bars, hover
 * and arrow-key read-out, and a horizontal bar list for "top N" tables.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { formatAxisTime, formatDateTime } from '../lib/format.js';

export interface Series {
  label: string;
  /** A CSS colour, usually var(--chart-N). */
  color: string;
  values: Array<number | null>;
}

const PAD = { top: 10, right: 12, bottom: 24, left: 52 };

/** Width of the element, followed as it resizes. */
function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (element === null) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver((entries) => setWidth(Math.floor(entries[0].contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** 0, then round steps: the top of the axis and its tick values. */
function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let value = 0; value <= max + step * 0.999; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks.length < 2 ? [0, step] : ticks;
}

export function TimeChart({
  times,
  bucketMs,
  series,
  format,
  height = 180,
  kind = 'line',
  label,
  formatTime,
}: {
  times: number[];
  bucketMs: number;
  series: Series[];
  format(value: number): string;
  height?: number;
  kind?: 'line' | 'bar';
  label: string;
  /** Axis and tooltip text of a bucket's time (default: fitted to the span, in local time). */
  formatTime?: (ms: number) => string;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const [cursor, setCursor] = useState<number | null>(null);
  const count = times.length;
  const innerWidth = Math.max(0, width - PAD.left - PAD.right);
  const innerHeight = height - PAD.top - PAD.bottom;

  const { ticks, top } = useMemo(() => {
    let max = 0;
    for (const item of series) for (const value of item.values) if (value !== null && value > max) max = value;
    const list = niceTicks(max);
    return { ticks: list, top: list[list.length - 1] };
  }, [series]);

  const slot = count === 0 ? 0 : innerWidth / count;
  const x = (index: number): number => PAD.left + slot * (index + 0.5);
  const y = (value: number): number => PAD.top + innerHeight - (value / top) * innerHeight;

  const paths = useMemo(() => {
    if (kind !== 'line' || count === 0) return [];
    return series.map((item) => {
      let line = '';
      let area = '';
      let open = false;
      let first = 0;
      let last = 0;
      item.values.forEach((value, index) => {
        if (value === null) {
          if (open) area += `L${x(last)},${y(0)}L${x(first)},${y(0)}Z`;
          open = false;
          return;
        }
        const point = `${x(index).toFixed(1)},${y(value).toFixed(1)}`;
        if (!open) {
          first = index;
          line += `M${point}`;
          area += `M${point}`;
          open = true;
        } else {
          line += `L${point}`;
          area += `L${point}`;
        }
        last = index;
      });
      if (open) area += `L${x(last)},${y(0)}L${x(first)},${y(0)}Z`;
      // A value with no neighbour draws no segment: mark it with a dot instead.
      const dots = item.values.flatMap((value, index) =>
        value !== null && (item.values[index - 1] ?? null) === null && (item.values[index + 1] ?? null) === null ? [{ cx: x(index), cy: y(value) }] : [],
      );
      return { line, area, color: item.color, dots };
    });
  }, [series, kind, count, width, top]); // eslint-disable-line react-hooks/exhaustive-deps

  const labelEvery = Math.max(1, Math.ceil(count / Math.max(1, Math.floor(innerWidth / 70))));
  const spanMs = count * bucketMs;

  const onPointer = (event: PointerEvent<SVGSVGElement>): void => {
    const box = event.currentTarget.getBoundingClientRect();
    const index = Math.floor((event.clientX - box.left - PAD.left) / (slot || 1));
    setCursor(index >= 0 && index < count ? index : null);
  };
  const onKey = (event: KeyboardEvent<HTMLDivElement>): void => {
    if (count === 0) return;
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      setCursor(event.key === 'Home' ? 0 : count - 1);
    } else if (step !== 0) {
      event.preventDefault();
      setCursor((current) => Math.min(count - 1, Math.max(0, (current ?? (step > 0 ? -1 : count)) + step)));
    } else if (event.key === 'Escape') setCursor(null);
  };

  const barGroup = Math.max(1, slot * 0.72);
  const barWidth = Math.max(1, barGroup / Math.max(1, series.length));

  return (
    <div className="chart-wrap" ref={ref} tabIndex={0} role="img" aria-label={label} onKeyDown={onKey} onBlur={() => setCursor(null)}>
      {width === 0 ? (
        <div style={{ height }} />
      ) : (
        <svg className="chart" width={width} height={height} onPointerMove={onPointer} onPointerLeave={() => setCursor(null)} aria-hidden="true">
          {ticks.map((tick) => (
            <g key={tick}>
              <line className="grid-line" x1={PAD.left} x2={width - PAD.right} y1={y(tick)} y2={y(tick)} />
              <text x={PAD.left - 8} y={y(tick) + 4} textAnchor="end">
                {format(tick)}
              </text>
            </g>
          ))}
          {times.map((time, index) =>
            index % labelEvery === 0 ? (
              <text key={time} x={x(index)} y={height - 6} textAnchor="middle">
                {formatTime === undefined ? formatAxisTime(time, spanMs) : formatTime(time)}
              </text>
            ) : null,
          )}
          {kind === 'line'
            ? paths.map((path, index) => (
                <g key={index}>
                  {index === 0 ? <path d={path.area} fill={path.color} opacity={0.12} /> : null}
                  <path d={path.line} fill="none" stroke={path.color} strokeWidth={2} strokeLinejoin="round" strokeLinecap="round" />
                  {path.dots.map((dot) => (
                    <circle key={dot.cx} cx={dot.cx} cy={dot.cy} r={3} fill={path.color} />
                  ))}
                </g>
              ))
            : series.map((item, seriesIndex) =>
                item.values.map((value, index) =>
                  value === null || value <= 0 ? null : (
                    <rect
                      key={`${seriesIndex}-${index}`}
                      x={x(index) - barGroup / 2 + seriesIndex * barWidth}
                      y={y(value)}
                      width={barWidth}
                      height={Math.max(1, y(0) - y(value))}
                      rx={Math.min(3, barWidth / 3)}
                      fill={item.color}
                    />
                  ),
                ),
              )}
          {cursor === null ? null : (
            <g>
              <line className="cursor-line" x1={x(cursor)} x2={x(cursor)} y1={PAD.top} y2={PAD.top + innerHeight} />
              {kind === 'line'
                ? series.map((item) => {
                    const value = item.values[cursor];
                    return value === null || value === undefined ? null : <circle key={item.label} cx={x(cursor)} cy={y(value)} r={3.5} fill={item.color} />;
                  })
                : null}
            </g>
          )}
        </svg>
      )}
      {cursor === null || width === 0 ? null : (
        <div className="chart-tooltip" style={{ left: Math.min(Math.max(x(cursor), 90), width - 90), top: PAD.top + 8 }} role="status">
          <div className="muted">{formatTime === undefined ? formatDateTime(times[cursor]) : formatTime(times[cursor])}</div>
          {series.map((item) => (
            <div key={item.label}>
              <span className="dot" style={{ background: item.color, marginRight: 6 }} />
              {item.label}: <strong>{item.values[cursor] === null ? '—' : format(item.values[cursor] as number)}</strong>
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function Legend({ series }: { series: Array<Pick<Series, 'label' | 'color'>> }) {
  return (
    <div className="legend">
      {series.map((item) => (
        <span key={item.label}>
          <i style={{ background: item.color }} />
          {item.label}
        </span>
      ))}
    </div>
  );
}

export function BarList({ items, format }: { items: Array<{ label: string; value: number; detail?: string }>; format(value: number): string }) {
  const max = Math.max(0, ...items.map((item) => item.value));
  return (
    <ul className="bar-list">
      {items.map((item) => (
        <li key={item.label}>
          <div className="bar-label">
            <span title={item.label}>{item.label}</span>
            <span className="muted nowrap">
              {item.detail === undefined ? null : <span>{item.detail} · </span>}
              <strong style={{ color: 'var(--text)' }}>{format(item.value)}</strong>
            </span>
          </div>
          <div className="bar-track" aria-hidden="true">
            <div className="bar-fill" style={{ width: `${max > 0 ? (item.value / max) * 100 : 0}%` }} />
          </div>
        </li>
      ))}
    </ul>
  );
}
