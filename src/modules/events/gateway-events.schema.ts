import { builder } from '../../graphql/builder.ts';
import { AppError, ValidationError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { redactUrlsInText } from '../alerts/webhook-url.ts';
import { BudgetAlertRef } from '../budgets/budget.schema.ts';
import { HealthEventRef } from '../health/health.schema.ts';
import { KeyEventRef } from '../keys/provider-key.schema.ts';
import { CircuitEventRef } from '../resilience/circuit.schema.ts';
import type { AnyEvent, EventBus, JobAlertEvent } from './event-bus.ts';
import { EVENT_KINDS, type EventKind, KIND_OF_TOPIC } from './event-kinds.ts';
import { endWithSource } from './filter-events.ts';

const KINDS = EVENT_KINDS;
type Kind = EventKind;
const KIND_OF = KIND_OF_TOPIC;

const GatewayEventKind = builder.enumType('GatewayEventKind', {
  values: Object.keys(KINDS) as Kind[],
  description: 'PROVIDER_HEALTH, CIRCUIT_STATE, BUDGET_ALERT and KEY events.',
});

/** An event with the kind that picks its GraphQL type. */
type Tagged = AnyEvent['event'] & { __kind: Kind };

const JobAlertRef = builder.objectRef<JobAlertEvent>('JobAlertEvent').implement({
  description: 'A background job failed for good (FAILED), or a queue retries too much (RETRY_RATE).',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    queue: t.exposeString('queue'),
    alert: t.exposeString('alert'),
    jobId: t.string({ nullable: true, resolve: (e) => e.jobId }),
    message: t.string({
      description: 'What happened; URLs in it whole for admins only, as in Job.lastError.',
      resolve: (e, _args, ctx) => (ctx.operator?.role === 'admin' ? e.message : redactUrlsInText(e.message)),
    }),
    retryRate: t.float({ nullable: true, resolve: (e) => e.retryRate }),
  }),
});

const GatewayEvent = builder.unionType('GatewayEvent', {
  types: [HealthEventRef, CircuitEventRef, BudgetAlertRef, KeyEventRef, JobAlertRef],
  resolveType: (event) => {
    switch ((event as Tagged).__kind) {
      case 'PROVIDER_HEALTH':
        return HealthEventRef;
      case 'CIRCUIT_STATE':
        return CircuitEventRef;
      case 'BUDGET_ALERT':
        return BudgetAlertRef;
      case 'JOB':
        return JobAlertRef;
      default:
        return KeyEventRef;
    }
  },
});

class ReplayWindowError extends AppError {
  readonly code = 'REPLAY_WINDOW_EXCEEDED';
}

/**
 * The chosen kinds as one stream. With `since`, the events after that id that this replica still
 * holds come first (subscribed to live events before reading them, so none falls in between),
 * then live events, each once.
 */
function gatewayEvents(
  bus: EventBus,
  kinds: Kind[] | null | undefined,
  since: string | null | undefined,
  onSlowConsumer: (() => void) | undefined,
) {
  const live = bus.subscribeAll(onSlowConsumer)[Symbol.asyncIterator]();
  return endWithSource(gatewayEventsFrom(live, bus, kinds, since), live);
}

async function* gatewayEventsFrom(
  live: AsyncIterator<AnyEvent>,
  bus: EventBus,
  kinds: Kind[] | null | undefined,
  since: string | null | undefined,
) {
  const wanted = new Set<Kind>(kinds && kinds.length > 0 ? kinds : (Object.keys(KINDS) as Kind[]));
  const tag = (e: AnyEvent): Tagged | undefined => {
    const kind = KIND_OF.get(e.topic);
    return kind && wanted.has(kind) ? { ...e.event, __kind: kind } : undefined;
  };
  try {
    const replayed = new Set<string>();
    if (since) {
      const missed = bus.since(since);
      if (missed === null) {
        throw new ReplayWindowError(
          'That event is no longer in the replay window (10 minutes, 1,000 events): reload the current state, then subscribe without since.',
        );
      }
      for (const e of missed) {
        const tagged = tag(e);
        replayed.add(e.event.id);
        if (tagged) yield tagged;
      }
    }
    for (;;) {
      const next = await live.next();
      if (next.done) return;
      if (replayed.has(next.value.event.id)) continue;
      const tagged = tag(next.value);
      if (tagged) yield tagged;
    }
  } finally {
    await live.return?.();
  }
}

builder.subscriptionField('gatewayEvents', (t) =>
  t.field({
    type: GatewayEvent,
    description:
      'Health changes, circuit transitions, budget alerts and key events from every replica. `since`: an event id seen before a reconnect; the events after it come first.',
    args: {
      kinds: t.arg({ type: [GatewayEventKind], description: 'All kinds when omitted.' }),
      since: t.arg.id(),
    },
    subscribe: (_root, args, ctx) => {
      // Event ids are UUIDs: anything else was never an event, which is a bad input, not an
      // event that has left the replay window.
      if (args.since != null && !isUuid(args.since)) {
        throw new ValidationError([
          { path: ['since'], message: 'is not an event id (the id of an event received before)' },
        ]);
      }
      return gatewayEvents(ctx.services.events, args.kinds, args.since, ctx.onSlowConsumer);
    },
    resolve: (event) => event as never,
  }),
);
