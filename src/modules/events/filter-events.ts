/** Passes on the events of `source` that `keep` accepts; ending the result ends the source. */
export async function* filterEvents<T>(
  source: AsyncIterable<T>,
  keep: (event: T) => boolean,
): AsyncGenerator<T> {
  for await (const event of source) if (keep(event)) yield event;
}
