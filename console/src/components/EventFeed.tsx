import type { GatewayEvent } from '../graphql/live-events.tsx';
import { formatClock, formatTime } from './format.ts';
import { Badge, EmptyState, type Tone } from './ui.tsx';

function describe(event: GatewayEvent): { kind: string; tone: Tone; text: string } {
  switch (event.__typename) {
    case 'CircuitStateEvent':
      return {
        kind: 'Circuit',
        tone: event.circuitTo === 'CLOSED' ? 'ok' : event.circuitTo === 'HALF_OPEN' ? 'warn' : 'bad',
        text: `${event.provider}: ${event.circuitFrom} → ${event.circuitTo}${event.reason ? ` (${event.reason})` : ''}`,
      };
    case 'ProviderHealthEvent':
      return {
        kind: 'Health',
        tone:
          event.healthTo === 'HEALTHY'
            ? 'ok'
            : event.healthTo === 'DEGRADED'
              ? 'warn'
              : event.healthTo === 'DOWN'
                ? 'bad'
                : 'neutral',
        text: `${event.provider}: ${event.healthFrom} → ${event.healthTo}${event.reason ? ` (${event.reason})` : ''}`,
      };
    case 'BudgetAlertEvent':
      return {
        kind: 'Budget',
        tone: event.threshold >= 100 ? 'bad' : 'warn',
        text: `${event.budgetName} reached ${event.threshold} % (${event.percentUsed.toFixed(1)} % used)`,
      };
    case 'KeyEvent':
      return {
        kind: 'Key',
        tone: 'info',
        text: `${event.provider}: key ${event.change.toLowerCase().replace(/_/g, ' ')} by ${event.actor}${event.detail ? ` (${event.detail})` : ''}`,
      };
    case 'JobAlertEvent':
      return { kind: 'Jobs', tone: 'warn', text: `${event.queue}: ${event.message}` };
  }
}

/** Gateway events, newest first, as they arrive (an ARIA log: screen readers announce them). */
export function EventFeed({ events, limit = 50 }: { events: GatewayEvent[]; limit?: number }) {
  if (events.length === 0) {
    return (
      <div role="log" aria-live="polite" aria-label="Live events">
        <EmptyState title="No events yet">
          <p>Circuit, health, budget, key and job events appear here as they happen, on any replica.</p>
        </EmptyState>
      </div>
    );
  }
  return (
    <div role="log" aria-live="polite" aria-label="Live events">
      <ol className="feed">
        {events.slice(0, limit).map((event) => {
          const { kind, tone, text } = describe(event);
          return (
            <li key={event.id} className="feed-item" data-event={event.__typename}>
              <time className="feed-time" dateTime={event.at} title={formatTime(event.at)}>
                {formatClock(event.at)}
              </time>
              <Badge tone={tone}>{kind}</Badge>
              <span className="feed-text">{text}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
