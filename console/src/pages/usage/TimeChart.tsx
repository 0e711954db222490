import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
  /** Drawn dashed (a secondary line such as failures beside calls). */
  dashed?: boolean;
}

const HEIGHT = 190;

/**
 * A time-series line chart (uPlot, which this module pulls into the usage page's lazy chunk only).
 * `times` are bucket starts in ms; the chart follows its container's width.
 */
export function TimeChart({
  title,
  times,
  series,
  format,
}: {
  title: string;
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
}) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#475569', grid: { stroke: '#eef2f6' }, ticks: { stroke: '#e2e8f0' } },
        {
          stroke: '#475569',
          size: 64,
          grid: { stroke: '#eef2f6' },
          ticks: { stroke: '#e2e8f0' },
          values: (_u, splits) => splits.map((v) => format(v)),
        },
      ],
      series: [
        { label: 'Time' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: series.length === 1 ? `${s.color}1f` : undefined,
          dash: s.dashed ? [5, 4] : undefined,
          // A line needs two points: sparse series (one busy hour) are drawn as dots too.
          points: { show: s.values.filter((v) => v != null).length <= 3, size: 6 },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : format(v)),
        })),
      ],
    };
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
    const chart = new uPlot(options, data, element);
    const observer = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }),
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
    };
  }, [times, series, format]);

  // The chart is a picture; the table below it on the page has the same figures as text.
  return <div ref={container} role="img" aria-label={title} />;
}
