import { formatMicros, formatTime } from '../../components/format.ts';

export interface SpendFigures {
  limitMicros: number;
  spentMicros: number;
  reservedMicros: number;
  remainingMicros: number;
  projectedSpendMicros?: number | null;
  percentUsed: number;
  thresholds: number[];
  periodEnd?: string | null;
}

const pct = (part: number, whole: number) => Math.max(0, Math.min(100, (part / whole) * 100));

/**
 * Spent (solid), reserved for calls in flight (hatched) and remaining (empty) against the limit,
 * with a tick per alert threshold and a dashed mark where spend is projected to end the period.
 * The figures are also written out below the bar: the bar is a picture of them, not the data.
 */
export function SpendBar({ budget, label }: { budget: SpendFigures; label: string }) {
  const { limitMicros, spentMicros, reservedMicros } = budget;
  const spent = pct(spentMicros, limitMicros);
  const reserved = Math.min(100 - spent, pct(reservedMicros, limitMicros));
  const tone = budget.percentUsed >= 100 ? 'spend-bad' : budget.percentUsed >= 75 ? 'spend-warn' : '';
  const projected =
    budget.projectedSpendMicros != null ? pct(budget.projectedSpendMicros, limitMicros) : null;
  return (
    <>
      <meter
        className="visually-hidden"
        aria-label={`${label}: spent`}
        min={0}
        max={100}
        low={75}
        high={100}
        value={Math.min(budget.percentUsed, 100)}
        aria-valuetext={`${budget.percentUsed.toFixed(1)} % of ${formatMicros(limitMicros)}`}
      />
      <div className="spend-bar" aria-hidden="true">
        <span className={`spend-fill spend-spent ${tone}`} style={{ width: `${spent}%` }} />
        {reserved > 0 ? (
          <span className="spend-fill spend-reserved" style={{ left: `${spent}%`, width: `${reserved}%` }} />
        ) : null}
        {budget.thresholds.map((t) => (
          <span key={t} className="spend-threshold" style={{ left: `calc(${t}% - 1px)` }} aria-hidden="true">
            <span className="spend-threshold-label">{t} %</span>
          </span>
        ))}
        {projected != null ? (
          <span
            className="spend-projected"
            style={{ left: `${projected}%` }}
            aria-hidden="true"
            title="Projected at period end"
          />
        ) : null}
      </div>
      <div className="spend-legend">
        <span>
          <span className={`legend-swatch legend-spent ${tone}`} aria-hidden="true" />
          Spent {formatMicros(spentMicros)}
        </span>
        <span>
          <span className="legend-swatch legend-reserved" aria-hidden="true" />
          Reserved {formatMicros(reservedMicros)}
        </span>
        <span>
          <span className="legend-swatch legend-remaining" aria-hidden="true" />
          Remaining {formatMicros(budget.remainingMicros)}
        </span>
        {budget.projectedSpendMicros != null ? (
          <span>
            <span className="legend-swatch legend-projected" aria-hidden="true" />
            Projected {formatMicros(budget.projectedSpendMicros)}
            {budget.periodEnd ? ` by ${formatTime(budget.periodEnd)}` : ''}
          </span>
        ) : null}
      </div>
    </>
  );
}
