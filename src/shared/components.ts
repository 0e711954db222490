import type { Logger } from './logger.ts';

/**
 * A part of the running app with a lifecycle: what `start` opens (a connection, a timer, a
 * listener, a port), `stop` closes. `start` may hand back what it opened (the database pool).
 */
export interface Component<T = void> {
  /** Named in the logs, so that a stop step that hangs says which one it is. */
  readonly name: string;
  start?(): Promise<T> | T;
  stop?(): Promise<void> | void;
}

/**
 * What a module's factory returns: the services it offers and the components that run them, by
 * role (app.ts starts them in the order it lists them; `add` starts a module's in their order).
 */
export interface Module<
  S,
  C extends Record<string, Component<unknown>> = Record<string, Component<unknown>>,
> {
  services: S;
  components: C;
}

/** A stop step still running after this long is logged by name. */
export const SLOW_STOP_MS = 5_000;

/**
 * Starts components one at a time, in the order given, and stops them in reverse: whatever
 * started later may use what started earlier, and is stopped before it. A component whose
 * start fails is not stopped (it did not start); everything started before it is, then the
 * start's error is thrown.
 */
export class Components {
  readonly #logger: Logger;
  readonly #slowStopMs: number;
  readonly #started: Component<unknown>[] = [];

  constructor(logger: Logger, options: { slowStopMs?: number } = {}) {
    this.#logger = logger;
    this.#slowStopMs = options.slowStopMs ?? SLOW_STOP_MS;
  }

  /** Starts one component and returns what its start returned. */
  async start<T>(component: Component<T>): Promise<T> {
    let value: T;
    try {
      value = (await component.start?.()) as T;
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#started.push(component);
    return value;
  }

  /** Starts a module's components in order and returns its services. */
  async add<S, C extends Record<string, Component<unknown>>>(module: Module<S, C>): Promise<S> {
    for (const component of Object.values(module.components)) await this.start(component);
    return module.services;
  }

  /** The names of the started components, in start order. */
  names(): string[] {
    return this.#started.map((c) => c.name);
  }

  /**
   * Stops every started component, last started first. A failing stop is logged and the rest
   * still stop; one still running after `slowStopMs` is logged by name (it holds the whole
   * shutdown until the process is forced out).
   */
  async stop(): Promise<void> {
    while (this.#started.length > 0) {
      const component = this.#started.pop()!;
      if (!component.stop) continue;
      const slow = setTimeout(
        () =>
          this.#logger.warn(
            { step: component.name },
            `shutdown step still running after ${Math.round(this.#slowStopMs / 1000)} s`,
          ),
        this.#slowStopMs,
      );
      slow.unref();
      try {
        await component.stop();
        this.#logger.debug({ step: component.name }, 'stopped');
      } catch (error) {
        this.#logger.warn({ err: error, step: component.name }, 'error during shutdown');
      } finally {
        clearTimeout(slow);
      }
    }
  }
}

/**
 * Components that start one after the other and stop side by side, as one step: long-running
 * jobs are told to stop together, so that each commits its current batch at the same time.
 */
export function together(name: string, parts: Component[]): Component {
  return {
    name,
    start: async () => {
      for (const part of parts) await part.start?.();
    },
    stop: async () => {
      await Promise.all(parts.map((part) => part.stop?.()));
    },
  };
}
