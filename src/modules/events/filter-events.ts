/**
 * Makes `generator.return()` end `source` first. An async generator waiting in
 * `await source.next()` only sees a return() once that next event arrives (for a quiet, filtered
 * subscription: never), so a client that unsubscribed or disconnected would keep its bus
 * subscription, and graphql-ws would never finish closing its connection.
 */
export function endWithSource<T>(
  generator: AsyncGenerator<T>,
  source: AsyncIterator<unknown>,
): AsyncGenerator<T> {
  const original = generator.return.bind(generator);
  generator.return = async (value) => {
    await source.return?.();
    return original(value);
  };
  return generator;
}

/** Passes on the events of `source` that `keep` accepts; ending the result ends the source. */
export function filterEvents<T>(source: AsyncIterable<T>, keep: (event: T) => boolean): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  async function* filtered(): AsyncGenerator<T> {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        if (keep(next.value)) yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return endWithSource(filtered(), iterator);
}
