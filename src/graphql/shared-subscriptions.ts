import { type ExecutionArgs, type ExecutionResult, getOperationAST, Kind } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { SlowConsumerError } from '../modules/events/fan-out.ts';

type Started = AsyncIterable<ExecutionResult> | ExecutionResult;

interface Member {
  queue: ExecutionResult[];
  wake: (() => void) | undefined;
  failed: unknown;
  done: boolean;
  onOverflow: () => void;
}

interface Group {
  key: string;
  members: Set<Member>;
  /** Settles with the shared stream once it runs, or with the result to hand every member instead. */
  ready: Promise<ExecutionResult | undefined>;
  stream: AsyncIterator<ExecutionResult> | undefined;
  closed: boolean;
}

/**
 * One execution per event for every subscriber of the same operation. Subscribers whose
 * (document, variables, role) match share a group: the first one's subscription runs (its
 * source stream filters the events, so an event no one wants costs nothing), each result is
 * formatted once, and every member gets that same result, handed to graphql-ws, which sends it
 * (`payloadOf` in its `onNext` hook) under the member's own operation id.
 *
 * Each member has its own bounded queue: one that falls `maxQueue` results behind (its socket
 * is stuck) is dropped and `onOverflow` runs, without delaying the others. The group ends when
 * its last member leaves.
 */
export class SharedSubscriptions {
  readonly #groups = new Map<string, Group>();
  readonly #maxQueue: number;
  /** The `next` payload of each result delivered through a group, formatted once for all. */
  readonly #payloads = new WeakMap<object, object>();
  #members = 0;

  constructor(options: { maxQueue: number }) {
    this.#maxQueue = options.maxQueue;
  }

  /** Operations running for several subscribers at once (one execution per event each). */
  get groups(): number {
    return this.#groups.size;
  }

  /** Subscribers served by those operations. */
  get members(): number {
    return this.#members;
  }

  /** The formatted `next` payload of a shared result (for graphql-ws's onNext), if it is one. */
  payloadOf(result: unknown): object | undefined {
    return typeof result === 'object' && result !== null ? this.#payloads.get(result) : undefined;
  }

  /**
   * Joins the group of `key`, starting it with `start` (a subscribe of the GraphQL operation)
   * when there is none. Returns the member's stream, or the result `start` gave instead of a
   * stream (an error), as graphql-ws expects of its `subscribe` option.
   */
  async subscribe(
    key: string,
    start: () => Promise<Started> | Started,
    onOverflow: () => void,
  ): Promise<Started> {
    let group = this.#groups.get(key);
    if (!group) group = this.#start(key, start);
    const member: Member = { queue: [], wake: undefined, failed: undefined, done: false, onOverflow };
    group.members.add(member);
    this.#members++;
    const refused = await group.ready.catch((error: unknown) => {
      this.#leave(group, member);
      throw error;
    });
    if (refused) {
      this.#leave(group, member);
      return refused;
    }
    return this.#iterator(group, member);
  }

  #start(key: string, start: () => Promise<Started> | Started): Group {
    const group: Group = {
      key,
      members: new Set(),
      ready: Promise.resolve(undefined),
      stream: undefined,
      closed: false,
    };
    this.#groups.set(key, group);
    group.ready = Promise.resolve()
      .then(start)
      .then(
        (started) => {
          if (!isAsyncIterable(started)) {
            this.#forget(group);
            return started;
          }
          group.stream = started[Symbol.asyncIterator]();
          if (group.members.size === 0) this.#close(group);
          else void this.#pump(group);
          return undefined;
        },
        (error: unknown) => {
          this.#forget(group);
          throw error;
        },
      );
    return group;
  }

  async #pump(group: Group): Promise<void> {
    const stream = group.stream!;
    try {
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        this.#deliver(group, next.value);
      }
      this.#endAll(group, undefined);
    } catch (error) {
      this.#endAll(group, error ?? new Error('subscription failed'));
    } finally {
      this.#forget(group);
    }
  }

  #endAll(group: Group, error: unknown): void {
    for (const member of group.members) end(member, error);
    this.#members -= group.members.size;
    group.members.clear();
  }

  #deliver(group: Group, result: ExecutionResult): void {
    // As graphql-ws would format it (errors through their toJSON), but once for all members.
    const { errors, ...rest } = result;
    this.#payloads.set(result, errors ? { ...rest, errors: errors.map((e) => e.toJSON()) } : rest);
    for (const member of group.members) {
      if (member.queue.length >= this.#maxQueue) {
        this.#leave(group, member);
        end(member, new SlowConsumerError(this.#maxQueue));
        // Its consumer may be stuck on a full socket and never ask again: tell its owner.
        member.onOverflow();
        continue;
      }
      member.queue.push(result);
      member.wake?.();
    }
  }

  #iterator(group: Group, member: Member): AsyncGenerator<ExecutionResult> {
    return new MemberStream(member, () => this.#leave(group, member));
  }

  #leave(group: Group, member: Member): void {
    if (!group.members.delete(member)) return;
    this.#members--;
    if (group.members.size === 0 && group.stream) this.#close(group);
  }

  /** Ends the shared operation (and its event-bus subscription) once no one listens. */
  #close(group: Group): void {
    if (group.closed) return;
    group.closed = true;
    this.#forget(group);
    void Promise.resolve(group.stream?.return?.()).catch(() => undefined);
  }

  #forget(group: Group): void {
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
  }
}

function end(member: Member, error: unknown): void {
  member.done = true;
  member.failed = error;
  member.queue.length = 0;
  member.wake?.();
}

/** One subscriber's view of its group's results (what graphql-ws iterates and ends). */
class MemberStream implements AsyncGenerator<ExecutionResult> {
  readonly #member: Member;
  readonly #leave: () => void;

  constructor(member: Member, leave: () => void) {
    this.#member = member;
    this.#leave = leave;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    const member = this.#member;
    for (;;) {
      const value = member.queue.shift();
      if (value !== undefined) return { done: false, value };
      if (member.failed) {
        const error = member.failed;
        member.failed = undefined;
        throw error;
      }
      if (member.done) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        member.wake = resolve;
      });
      member.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    end(this.#member, undefined);
    this.#leave();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    await this.return();
    throw error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/**
 * What subscribers must have in common to share one execution: the operation's text, its
 * variables and the caller's role (results differ by role, never by who the caller is beyond
 * it). Undefined for an operation that cannot be shared: one that asks for a replay (`since`),
 * since what it gets first depends on when it subscribed.
 */
export function sharingKey(
  args: Pick<ExecutionArgs, 'document' | 'operationName' | 'variableValues'>,
  query: string,
  role: string,
): string | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  if (operation?.operation !== 'subscription') return undefined;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    for (const argument of selection.arguments ?? []) {
      if (argument.name.value !== 'since') continue;
      const value = argument.value;
      if (value.kind === Kind.NULL) continue;
      if (value.kind === Kind.VARIABLE && args.variableValues?.[value.name.value] == null) continue;
      return undefined;
    }
  }
  return JSON.stringify([query, args.operationName ?? null, args.variableValues ?? null, role]);
}
