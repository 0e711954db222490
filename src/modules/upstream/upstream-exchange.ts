/**
 * One upstream request and its response, on undici's dispatch API. `request()` wraps every
 * response body in a Readable stream, an async-hooks resource and an abort-signal listener;
 * a gateway that copies bytes from one socket to another needs none of that, and on a small
 * JSON call they cost about as much as the rest of the policy chain. Here the response body is
 * handed to one consumer chunk by chunk, with pause/resume for backpressure, and the call
 * aborts the exchange directly (no AbortSignal per call).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** Bytes read from a response that nobody wants before the connection is given up instead. */
const DUMP_LIMIT = 128 * 1024;

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: ResponseBody;
}

/** Receives a response body; `false` from `data` pauses the upstream until `resume()`. */
type ChunkHandler = (chunk: Buffer) => boolean;
/** The consumer of a body that is over. */
const DONE: ChunkHandler = () => true;

/**
 * A response body with a single consumer. Chunks that arrive before the consumer attaches are
 * held (and the upstream paused) so nothing is lost between the headers and `consume()`.
 */
export class ResponseBody {
  #controller: Dispatcher.DispatchController | undefined;
  #held: Buffer[] = [];
  #ended = false;
  #error: Error | undefined;
  #onChunk: ChunkHandler | undefined;
  #settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(controller?: Dispatcher.DispatchController) {
    this.#controller = controller;
  }

  /** A complete body Tollgate answers with itself (a stale or static fallback). */
  static of(bytes: Buffer): ResponseBody {
    const body = new ResponseBody();
    body.push(bytes);
    body.end();
    return body;
  }

  // ---- producer side (the dispatch handler) ----
  push(chunk: Buffer): void {
    if (this.#onChunk) {
      if (!this.#deliver(chunk)) this.#controller?.pause();
    } else {
      this.#held.push(chunk);
      this.#controller?.pause();
    }
  }

  end(): void {
    this.#ended = true;
    if (this.#onChunk) this.#finish()?.resolve();
  }

  fail(error: Error): void {
    if (this.#ended || this.#error) return;
    this.#error = error;
    this.#finish()?.reject(error);
  }

  /**
   * Lets go of the consumer (its closure holds the caller's request and response) once the body
   * is over: undici may keep a finished request's handler referenced for a while, and whatever
   * it reaches then outlives young-generation GCs.
   */
  #finish(): { resolve: () => void; reject: (error: Error) => void } | undefined {
    const settle = this.#settle;
    this.#settle = undefined;
    // A body that ends or fails before anyone consumes it keeps no consumer: consume() then
    // still resolves or rejects as it should.
    if (this.#onChunk) this.#onChunk = DONE;
    this.#controller = undefined;
    this.#held = [];
    return settle;
  }

  // ---- consumer side ----
  /**
   * Hands every chunk to `onChunk` until the body ends. `onChunk` returning false pauses the
   * upstream until `resume()`; `onChunk` throwing aborts the upstream and rejects with that error.
   */
  consume(onChunk: ChunkHandler): Promise<void> {
    if (this.#onChunk) throw new Error('response body consumed twice');
    this.#onChunk = onChunk;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
      if (this.#error) {
        this.#finish();
        return reject(this.#error);
      }
      const held = this.#held;
      this.#held = [];
      let paused = false;
      for (const chunk of held) {
        if (this.#error) return;
        if (!this.#deliver(chunk)) paused = true;
      }
      if (this.#error) return;
      if (this.#ended) return this.#finish()?.resolve();
      if (!paused) this.#controller?.resume();
    });
  }

  resume(): void {
    this.#controller?.resume();
  }

  /** Discards the rest of the body, keeping the connection if little is left, else closing it. */
  dump(): Promise<void> {
    if (this.#onChunk) return Promise.resolve();
    let read = 0;
    return this.consume((chunk) => {
      read += chunk.length;
      if (read > DUMP_LIMIT) throw new Error('response body discarded');
      return true;
    }).catch(() => undefined);
  }

  /** Stops the response (the connection is closed). */
  destroy(reason = new Error('response body destroyed')): void {
    if (this.#ended || this.#error) return;
    this.#controller?.abort(reason);
    this.fail(reason);
  }

  #deliver(chunk: Buffer): boolean {
    try {
      return (this.#onChunk as ChunkHandler)(chunk);
    } catch (error) {
      this.destroy(error as Error);
      return false;
    }
  }
}

export type UpstreamOptions = Dispatcher.DispatchOptions & { body?: Buffer | Readable | null };

/**
 * An upstream request in flight. `response` settles when the status and headers arrive (or the
 * request fails); `abort()` stops it at any point, before the headers or while the body streams.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly response: Promise<UpstreamResponse>;
  #resolve!: (response: UpstreamResponse) => void;
  #reject!: (error: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #body: ResponseBody | undefined;
  #requestBody: Buffer | Readable | null | undefined;
  #abortReason: Error | undefined;
  #settled = false;

  constructor(dispatcher: Dispatcher, options: UpstreamOptions) {
    this.response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#requestBody = options.body;
    try {
      dispatcher.dispatch(options, this);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  abort(reason: Error): void {
    if (this.#abortReason) return;
    this.#abortReason = reason;
    // Before the request reached a connection there is no controller yet: answer now, and
    // onRequestStart aborts the request when it gets one.
    if (this.#controller) this.#controller.abort(reason);
    else this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200 || this.#settled) return; // 1xx informational answers: the real one follows
    this.#settled = true;
    this.#body = new ResponseBody(controller);
    this.#resolve({ statusCode, headers, body: this.#body });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    this.#body?.end();
    this.#release();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  #fail(error: Error): void {
    const requestBody = this.#requestBody;
    this.#requestBody = undefined;
    if (requestBody && typeof (requestBody as Readable).destroy === 'function') {
      (requestBody as Readable).on('error', () => undefined);
      (requestBody as Readable).destroy(error);
    }
    if (this.#body) this.#body.fail(error);
    else if (!this.#settled) {
      this.#settled = true;
      this.#reject(error);
    }
    this.#release();
  }

  /**
   * A finished exchange keeps nothing of the call (see ResponseBody.#finish), nor undici's
   * controller: the controller holds the raw response headers, views into the socket's read
   * buffer. Held past the call, they were copied out of the young generation at every scavenge,
   * half of all the bytes promoted, and each scavenge paused the gateway twice as long.
   */
  #release(): void {
    this.#body = undefined;
    this.#requestBody = undefined;
    this.#controller = undefined;
  }
}
