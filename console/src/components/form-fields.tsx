import { type ReactNode, useEffect, useId, useRef, useState } from 'react';

/**
 * Form parts shared by the editing pages. Every field has a label; a field's server-side
 * validation error (ValidationError.fieldErrors, keyed by its input path) is shown under it and
 * tied to it with aria-describedby / aria-invalid.
 */

export type FieldErrors = Record<string, string>;

/**
 * ValidationError.fieldErrors keyed by the path below the argument (`input.retry.maxAttempts`
 * becomes `retry.maxAttempts`). Several problems on one field are joined.
 */
export function fieldErrorMap(
  errors: readonly { path: readonly string[]; message: string }[],
  argument = 'input',
): FieldErrors {
  const map: FieldErrors = {};
  for (const error of errors) {
    const path = error.path[0] === argument ? error.path.slice(1) : error.path;
    const key = path.join('.') || '_';
    map[key] = map[key] ? `${map[key]}; ${error.message}` : error.message;
  }
  return map;
}

/** The error for `key`, or for any path under it (`fallbacks.1` shows on `fallbacks`). */
export function errorFor(errors: FieldErrors, key: string): string | undefined {
  if (errors[key]) return errors[key];
  const nested = Object.entries(errors).filter(([k]) => k.startsWith(`${key}.`));
  return nested.length > 0 ? nested.map(([, message]) => message).join('; ') : undefined;
}

interface FieldShell {
  label: ReactNode;
  help?: ReactNode;
  error?: string;
  className?: string;
}

function FieldFrame({
  id,
  label,
  help,
  error,
  className,
  children,
}: FieldShell & { id: string; children: ReactNode }) {
  return (
    <div className={`field ${error ? 'field-invalid' : ''} ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <p className="field-error" id={`${id}-error`} data-field-error>
          {error}
        </p>
      ) : help ? (
        <p className="field-help" id={`${id}-help`}>
          {help}
        </p>
      ) : null}
    </div>
  );
}

function describedBy(id: string, error?: string, help?: ReactNode): string | undefined {
  if (error) return `${id}-error`;
  return help ? `${id}-help` : undefined;
}

export function TextField({
  label,
  help,
  error,
  className,
  value,
  onChange,
  name,
  type = 'text',
  ...rest
}: FieldShell & {
  value: string;
  onChange: (value: string) => void;
  name: string;
  type?: 'text' | 'number' | 'password' | 'url' | 'datetime-local' | 'search';
  placeholder?: string;
  autoComplete?: string;
  required?: boolean;
  readOnly?: boolean;
  step?: string;
  min?: number;
  inputMode?: 'numeric' | 'decimal' | 'text';
}) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} help={help} error={error} className={className}>
      <input
        id={id}
        name={name}
        type={type}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, help)}
        spellCheck={false}
        {...rest}
      />
    </FieldFrame>
  );
}

export function TextAreaField({
  label,
  help,
  error,
  className,
  value,
  onChange,
  name,
  rows = 4,
}: FieldShell & { value: string; onChange: (value: string) => void; name: string; rows?: number }) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} help={help} error={error} className={className}>
      <textarea
        id={id}
        name={name}
        rows={rows}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, help)}
        spellCheck={false}
      />
    </FieldFrame>
  );
}

export function SelectField<T extends string>({
  label,
  help,
  error,
  className,
  value,
  onChange,
  name,
  options,
}: FieldShell & {
  value: T;
  onChange: (value: T) => void;
  name: string;
  options: readonly { value: T; label: string }[];
}) {
  const id = useId();
  return (
    <FieldFrame id={id} label={label} help={help} error={error} className={className}>
      <select
        id={id}
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value as T)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, help)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

export function CheckboxField({
  label,
  help,
  error,
  checked,
  onChange,
  name,
}: FieldShell & { checked: boolean; onChange: (checked: boolean) => void; name: string }) {
  const id = useId();
  return (
    <div className={`field field-check ${error ? 'field-invalid' : ''}`}>
      <input
        id={id}
        name={name}
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error, help)}
      />
      <div>
        <label htmlFor={id}>{label}</label>
        {error ? (
          <p className="field-error" id={`${id}-error`} data-field-error>
            {error}
          </p>
        ) : help ? (
          <p className="field-help" id={`${id}-help`}>
            {help}
          </p>
        ) : null}
      </div>
    </div>
  );
}

/** A group of fields with a visible legend. */
export function FieldSet({
  legend,
  description,
  children,
  columns = 3,
}: {
  legend: string;
  description?: ReactNode;
  children: ReactNode;
  columns?: 1 | 2 | 3 | 4;
}) {
  return (
    <fieldset className="fieldset">
      <legend>{legend}</legend>
      {description ? <p className="fieldset-description">{description}</p> : null}
      <div className={`field-grid field-grid-${columns}`}>{children}</div>
    </fieldset>
  );
}

/** An on/off switch (role=switch) for a setting that takes effect at once. */
export function Switch({
  checked,
  onChange,
  label,
  disabled,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      className={`switch ${checked ? 'switch-on' : ''}`}
      disabled={disabled}
      onClick={() => onChange(!checked)}
    >
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      <span className="switch-text">{checked ? 'Enabled' : 'Disabled'}</span>
    </button>
  );
}

/**
 * A button that asks before doing something that cannot be undone, in a modal <dialog>
 * (focus stays inside it; Escape cancels).
 */
export function ConfirmButton({
  children,
  title,
  body,
  confirmLabel,
  onConfirm,
  tone = 'danger',
  className,
  disabled,
}: {
  children: ReactNode;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  tone?: 'danger' | 'primary';
  className?: string;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button
        type="button"
        className={className ?? `button ${tone === 'danger' ? 'button-danger' : ''}`}
        disabled={disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {children}
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby={titleId}>
        <h2 id={titleId}>{title}</h2>
        <div className="dialog-body">{body}</div>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button
            type="button"
            className={`button ${tone === 'danger' ? 'button-danger-solid' : 'button-primary'}`}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
              } finally {
                setBusy(false);
                dialog.current?.close();
              }
            }}
          >
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

export type Outcome = { tone: 'ok' | 'bad' | 'warn'; message: ReactNode } | null;

/** The result of the last action, announced to screen readers. */
export function OutcomeNotice({ outcome, onDismiss }: { outcome: Outcome; onDismiss?: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (outcome?.tone === 'bad') ref.current?.scrollIntoView({ block: 'nearest' });
  }, [outcome]);
  if (!outcome) return null;
  return (
    <div
      ref={ref}
      className={`notice notice-${outcome.tone === 'ok' ? 'ok' : outcome.tone} notice-row`}
      role={outcome.tone === 'bad' ? 'alert' : 'status'}
    >
      <div>{outcome.message}</div>
      {onDismiss ? (
        <button type="button" className="button button-small" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}

/** Whole currency units (as typed) to micros; '' is null. NaN is kept so that the server says why. */
export function toMicros(value: string): number | null {
  if (value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n * 1_000_000) : Number.NaN;
}

export function fromMicros(micros: number | null | undefined): string {
  return micros == null ? '' : String(micros / 1_000_000);
}

/** A typed number ('' is null). */
export function toInt(value: string): number | null {
  if (value.trim() === '') return null;
  return Number(value);
}

/** An ISO instant for a datetime-local value (local time), '' is null. */
export function fromLocalDateTime(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function toLocalDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
