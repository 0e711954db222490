import type { AnyEvent, EventBus, EventMap, Topic } from './event-bus.ts';

/**
 * Keeps an in-memory copy fresh: `reload` runs on every event of `topics` (from any replica) and
 * every `intervalMs` as a safety net for events lost while Redis was away. `invalidate` runs
 * first, synchronously, for what must stop at once (a revoked credential), before any reload.
 * This replica's own `publishApplied` events wait for both, so a mutation that returns has
 * taken effect here. Returns a stopper.
 */
export function keepFresh(
  reload: () => Promise<void>,
  options: {
    events: EventBus;
    topics: Topic[];
    intervalMs: number;
    invalidate?: (change: AnyEvent) => void;
  },
): () => void {
  return followChanges({
    events: options.events,
    topics: options.topics,
    intervalMs: options.intervalMs,
    apply: (change) => {
      options.invalidate?.(change);
      return reload();
    },
    refresh: reload,
  });
}

/**
 * Keeps an in-memory copy fresh change by change: `apply` runs on every event of `topics` (from
 * any replica), and `refresh` every `intervalMs` as a safety net for events lost while Redis was
 * away. This replica's own `publishApplied` events wait for `apply`, so a mutation that returns
 * has taken effect here (and is not applied a second time). Returns a stopper.
 */
export function followChanges(options: {
  events: EventBus;
  topics: Topic[];
  intervalMs: number;
  apply: (change: AnyEvent) => Promise<void>;
  refresh: () => Promise<void>;
}): () => void {
  // Events already applied through publishApplied, which the listener then skips.
  const applied = new Set<string>();
  const apply = (topic: Topic, event: EventMap[Topic]) => options.apply({ topic, event } as AnyEvent);
  const stops = options.topics.flatMap((topic) => [
    // Not awaited: the next event is taken at once, so changes that arrive together are read together.
    options.events.listen(topic, (event) => {
      if (!applied.delete(event.id)) void apply(topic, event);
    }),
    options.events.onApply(topic, (event) => {
      applied.add(event.id);
      return apply(topic, event);
    }),
  ]);
  const timer = setInterval(() => void options.refresh(), options.intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
