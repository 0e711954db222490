import type { EventBus, EventMap } from './event-bus.ts';

/**
 * Keeps an in-memory copy fresh: `reload` runs on every event of `topics` (from any replica) and
 * every `intervalMs` as a safety net for events lost while Redis was away. Returns a stopper.
 */
export function keepFresh(
  reload: () => Promise<void>,
  options: { events: EventBus; topics: (keyof EventMap)[]; intervalMs: number },
): () => void {
  const stops = options.topics.map((topic) => options.events.listen(topic, () => reload()));
  const timer = setInterval(() => void reload(), options.intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
