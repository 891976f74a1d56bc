import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/**
 * A time chart (uPlot): bars for per-bucket totals, lines otherwise. It follows its box's width
 * (360 px phones to desktops) and formats the y axis with `format`.
 */
export function TimeChart({
  title,
  times,
  series,
  bars,
  format,
  height = 180,
  testId,
  range,
  minTop = 1,
}: {
  title: string;
  times: number[];
  series: Series[];
  bars?: boolean;
  format?: (v: number) => string;
  height?: number;
  testId?: string;
  /** The x range in seconds (else the data's). */
  range?: [number, number];
  /** The y axis reaches at least this high (so an all-zero chart has sensible ticks). */
  minTop?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = format ?? ((v: number) => v.toLocaleString('en-US'));
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, ...(range ? { range: () => range } : {}) },
        y: { range: (_u, _min, max) => [0, Math.max(minTop, max > 0 ? max * 1.1 : 0)] },
      },
      axes: [
        { stroke: '#5b6472', grid: { stroke: '#eef0f3' } },
        { stroke: '#5b6472', grid: { stroke: '#eef0f3' }, size: 72, values: (_u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}33`,
          width: 2,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
          ...(bars ? { paths: uPlot.paths.bars!({ size: [0.7, 40], gap: 1 }), points: { show: false } } : {}),
        })),
      ],
    };
    const u = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [times, series, bars, format, height, range, minTop]);
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
