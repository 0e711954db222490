import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GatewayError } from './proxy-errors.ts';

/** Bodies up to this size are buffered, so retries and fallbacks can send them again. */
export const REPLAY_LIMIT = 1024 * 1024;

/** A request body too large to buffer: streamed to the upstream once (so never retried). */
export class StreamedBody {
  bytes = 0;
  readonly stream: Readable;
  constructor(head: Buffer[], rest: AsyncIterable<Buffer>, max: number) {
    this.bytes = head.reduce((n, c) => n + c.length, 0);
    const self = this;
    this.stream = Readable.from(
      (async function* () {
        yield* head;
        try {
          for await (const chunk of rest) {
            self.bytes += chunk.length;
            if (self.bytes > max)
              throw new GatewayError('PAYLOAD_TOO_LARGE', `The request body is over the ${max}-byte limit.`);
            yield chunk;
          }
        } catch (error) {
          throw callerFailed(error);
        }
      })(),
    );
  }
}

export type RequestBody = Buffer | StreamedBody | undefined;

/**
 * Reads the request body: small ones into memory (replayable), larger ones (declared, or found
 * while reading) are streamed through; beyond the limit the caller gets 413.
 */
export async function readBody(req: IncomingMessage, max: number): Promise<RequestBody> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    req.resume();
    throw new GatewayError('PAYLOAD_TOO_LARGE', `The request body is over the ${max}-byte limit.`);
  }
  if (!(declared > 0) && req.headers['transfer-encoding'] === undefined) return undefined;
  const source = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => source };
  if (declared > REPLAY_LIMIT) return new StreamedBody([], rest, max);
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await source.next();
    } catch (error) {
      throw callerFailed(error);
    }
    if (next.done) return Buffer.concat(chunks);
    size += next.value.length;
    chunks.push(next.value);
    if (size > max) {
      req.resume();
      throw new GatewayError('PAYLOAD_TOO_LARGE', `The request body is over the ${max}-byte limit.`);
    }
    if (size > REPLAY_LIMIT) return new StreamedBody(chunks, rest, max);
  }
}

/**
 * Reading the caller's body failed: the caller closed the connection mid-body ("aborted",
 * ECONNRESET) or sent a body HTTP cannot parse (a malformed chunk; node has answered 400 on the
 * socket already). Ordinary client behaviour, not a gateway fault.
 */
function callerFailed(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('CLIENT_ABORTED', 'The caller went away or sent a malformed body.', {
    cause: error,
  });
}
