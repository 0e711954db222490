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
  readonly code = 'UNAVAILABLE';
  constructor(message = 'A backing service is unavailable; try again shortly.', options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}
