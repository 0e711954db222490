import { type ReactElement, type ReactNode, useId, useState } from 'react';
import type { CombinedError } from 'urql';
import '../styles/ops.css';

/** A field error as the schema's ValidationError lists it. */
export interface FieldErrorLike {
  path: readonly string[];
  message: string;
}

/**
 * Groups a ValidationError's field errors by the input field they concern (the first path segment
 * after `prefix`, e.g. ['input', 'thresholds', '1'] → thresholds). The rest of the path stays in
 * the message ("item 2: must be …") so that a list field says which item is wrong. Errors on the
 * argument itself land under '' (shown above the form).
 */
export function fieldErrorsByField(
  errors: readonly FieldErrorLike[],
  prefix: readonly string[] = ['input'],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const rest = error.path.slice(prefix.length);
    const field = rest[0] ?? '';
    const sub = rest.slice(1);
    const where = sub.length > 0 && /^\d+$/.test(sub[0]!) ? `item ${Number(sub[0]) + 1}: ` : '';
    out[field] ??= [];
    out[field].push(`${where}${error.message}`);
  }
  return out;
}

/**
 * A labelled form field; its error (from the server's fieldErrors or a local check) is shown under
 * it and tied to the control with aria-describedby and aria-invalid.
 */
export function Field({
  label,
  errors,
  help,
  children,
}: {
  label: string;
  errors?: string[];
  help?: ReactNode;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => ReactElement;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;
  const hasError = (errors?.length ?? 0) > 0;
  const describedBy =
    [hasError ? errorId : null, help ? helpId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${hasError ? 'field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': hasError, 'aria-describedby': describedBy })}
      {hasError ? (
        <p id={errorId} className="field-error">
          {errors!.join('; ')}
        </p>
      ) : null}
      {help ? (
        <p id={helpId} className="field-help">
          {help}
        </p>
      ) : null}
    </div>
  );
}

/** The outcome of an action, announced to screen readers. */
export function Outcome({ tone, children }: { tone: 'ok' | 'bad' | 'info'; children: ReactNode }) {
  return (
    <div
      className={`notice notice-${tone === 'ok' ? 'ok' : tone}`}
      role={tone === 'bad' ? 'alert' : 'status'}
    >
      {children}
    </div>
  );
}

/** The message of a failed request (the error union's message, or the transport's). */
export function messageOf(error: CombinedError | undefined, fallback = 'Tollgate did not answer.'): string {
  if (!error) return fallback;
  return error.graphQLErrors[0]?.message ?? (error.networkError ? fallback : error.message);
}

/**
 * A button for a destructive or far-reaching action: the first press asks, inline, to confirm
 * (keyboard focus goes to the confirming button), the second does it.
 */
export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  danger = true,
  disabled,
  small,
}: {
  label: string;
  confirmLabel: string;
  question: string;
  onConfirm: () => void;
  danger?: boolean;
  disabled?: boolean;
  small?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const size = small ? ' button-small' : '';
  if (!asking) {
    return (
      <button
        type="button"
        className={`button${size}${danger ? ' button-danger-quiet' : ''}`}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span className="confirm">
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className={`button${size} ${danger ? 'button-danger' : 'button-primary'}`}
        // biome-ignore lint/a11y/noAutofocus: the confirmation replaces the button that had focus
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className={`button${size}`} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** Saves text as a file, made in the browser (nothing is asked of the server). */
export function downloadText(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A compact label/value list. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
