/**
 * Expected failures. Each has a stable `code` that callers can program against; the GraphQL layer
 * turns them into typed error results and the proxy into JSON error bodies. Anything that is not
 * an AppError is masked as "Unexpected error." and logged once.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
}

export interface FieldError {
  path: string[];
  message: string;
}

export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED';
  readonly fieldErrors: FieldError[];
  constructor(fieldErrors: FieldError[], message = 'The input is invalid.') {
    super(message);
    this.name = 'ValidationError';
    this.fieldErrors = fieldErrors;
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
  readonly resource: string;
  readonly key: string;
  constructor(resource: string, key: string) {
    super(`${resource} "${key}" was not found.`);
    this.name = 'NotFoundError';
    this.resource = resource;
    this.key = key;
  }
}

export class ConflictError extends AppError {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** Optimistic concurrency: the caller edited a version that is no longer current. */
export class VersionMismatchError extends AppError {
  readonly code = 'VERSION_MISMATCH';
  readonly currentVersion: number;
  constructor(resource: string, expected: number, current: number) {
    super(
      `${resource} was changed by someone else: you sent version ${expected}, the current version is ${current}.`,
    );
    this.name = 'VersionMismatchError';
    this.currentVersion = current;
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'Authentication required: send a valid bearer token.', options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN';
  constructor(message = 'Your role does not allow this operation.') {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class UnavailableError extends AppError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(message = 'A backing service is unavailable; try again shortly.', options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

// Node's socket errors and PostgreSQL's connection-exception (08), operator-intervention (57P),
// too-many-connections (53300) and query-canceled (57014, the statement timeout) SQLSTATEs: the
// database cannot be reached, is going away, or did not answer in time.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '53300',
  '57014',
]);
// node-postgres: no connection within the acquire timeout; no answer within the query timeout.
const UNREACHABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|Query read timeout/i;

/**
 * True when an error (or one of its causes) says a backing service could not be reached, as
 * opposed to a bug: such failures are reported as SERVICE_UNAVAILABLE, not masked as unexpected.
 */
export function isUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^(08|57P)/.test(code))) return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGES.test(message)) return true;
    e = cause;
  }
  return false;
}
