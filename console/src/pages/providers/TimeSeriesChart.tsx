import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** Bars for counts, a line for rates and latencies. */
  style?: 'bars' | 'line';
  /** The right-hand axis (for a second unit). */
  rightAxis?: boolean;
  format?: (value: number) => string;
}

/**
 * A uPlot time-series chart (loaded on demand: this module and uPlot stay out of the initial
 * bundle). `times` are epoch milliseconds. The canvas is decorative to assistive technology; the
 * caller renders the same figures as text.
 */
export default function TimeSeriesChart({
  times,
  series,
  height = 200,
  label,
}: {
  times: number[];
  series: ChartSeries[];
  height?: number;
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const bars = uPlot.paths.bars?.({ size: [0.7, 24] });
    const hasRight = series.some((s) => s.rightAxis);
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 300),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        right: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        { stroke: '#5b6b80', grid: { stroke: '#eef2f6' }, ticks: { stroke: '#e2e8f0' } },
        { stroke: '#5b6b80', grid: { stroke: '#eef2f6' }, ticks: { stroke: '#e2e8f0' }, size: 48 },
        ...(hasRight
          ? [{ scale: 'right', side: 1 as const, stroke: '#5b6b80', grid: { show: false }, size: 56 }]
          : []),
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.style === 'bars' ? `${s.color}cc` : undefined,
          width: s.style === 'bars' ? 0 : 2,
          paths: s.style === 'bars' ? bars : undefined,
          points: { show: s.style !== 'bars', size: 5 },
          scale: s.rightAxis ? 'right' : 'y',
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : s.format ? s.format(v) : String(v)),
        })),
      ],
    };
    const data: uPlot.AlignedData = [times.map((t) => t / 1000), ...series.map((s) => s.values)];
    const plot = new uPlot(options, data, element);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 300), height }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, height]);

  return <div ref={host} className="chart" role="img" aria-label={label} data-chart-points={times.length} />;
}
