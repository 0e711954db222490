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
  // Events already applied through publishApplied, which the listener then skips.
  const applied = new Set<string>();
  const apply = (topic: Topic, event: EventMap[Topic]) => {
    options.invalidate?.({ topic, event } as AnyEvent);
    return reload();
  };
  const stops = options.topics.flatMap((topic) => [
    options.events.listen(topic, (event) => (applied.delete(event.id) ? undefined : apply(topic, event))),
    options.events.onApply(topic, (event) => {
      applied.add(event.id);
      return apply(topic, event);
    }),
  ]);
  const timer = setInterval(() => void reload(), options.intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
