import { type FormEvent, type ReactNode, useState } from 'react';
import {
  CheckboxField,
  errorFor,
  type FieldErrors,
  FieldSet,
  SelectField,
  TextAreaField,
  TextField,
} from '../../components/form-fields.tsx';
import type { ModelRow, ProviderFormState } from './provider-form-state.ts';

const KINDS = [
  { value: 'GENERIC_HTTP', label: 'Generic HTTP' },
  { value: 'OPENAI_COMPATIBLE', label: 'OpenAI-compatible (token metering)' },
] as const;
const AUTH_STYLES = [
  { value: 'BEARER', label: 'Authorization: Bearer' },
  { value: 'HEADER', label: 'Named header' },
  { value: 'QUERY', label: 'Query parameter' },
  { value: 'NONE', label: 'None' },
] as const;
const MODES = [
  { value: 'REJECT', label: 'Reject (429 at once)' },
  { value: 'QUEUE', label: 'Queue, then reject' },
] as const;
const METHODS = [
  { value: 'GET', label: 'GET' },
  { value: 'HEAD', label: 'HEAD' },
  { value: 'POST', label: 'POST' },
] as const;

/** Field labels by input path, for the summary of problems at the top of the form. */
const LABELS: Record<string, string> = {
  name: 'Name',
  slug: 'Slug',
  kind: 'Kind',
  baseUrl: 'Base URL',
  timeoutMs: 'Timeout',
  keyPattern: 'Key pattern',
  'auth.name': 'Header or parameter name',
  fallbacks: 'Fallbacks',
  rateLimit: 'Rate limit',
  retry: 'Retries',
  breaker: 'Circuit breaker',
  healthCheck: 'Health check',
  pricing: 'Pricing',
  degradedMode: 'Degraded mode',
};

function labelFor(path: string): string {
  if (LABELS[path]) return LABELS[path];
  const top = path.split('.')[0] ?? path;
  return `${LABELS[top] ?? top} (${path.split('.').slice(1).join(' ')})`;
}

export interface ProviderFormProps {
  mode: 'create' | 'edit';
  initial: ProviderFormState;
  /** Other providers' slugs, for fallbacks. */
  otherSlugs: string[];
  errors: FieldErrors;
  /** Read-only (a role that may not change providers): no submit, inputs disabled. */
  readOnly: boolean;
  busy: boolean;
  onSubmit: (state: ProviderFormState) => void;
  /** Above the submit button: the outcome of the last save. */
  status?: ReactNode;
}

export function ProviderForm({
  mode,
  initial,
  otherSlugs,
  errors,
  readOnly,
  busy,
  onSubmit,
  status,
}: ProviderFormProps) {
  const [f, setF] = useState(initial);
  const set =
    <K extends keyof ProviderFormState>(key: K) =>
    (value: ProviderFormState[K]) =>
      setF((current) => ({ ...current, [key]: value }));
  const err = (key: string) => errorFor(errors, key);
  const problems = Object.entries(errors);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(f);
  };

  return (
    <form className="provider-form" onSubmit={submit} noValidate aria-label="Provider settings">
      {problems.length > 0 ? (
        <div className="notice notice-bad" role="alert" data-testid="form-problems">
          <strong>
            {problems.length === 1 ? 'One setting needs' : `${problems.length} settings need`} attention;
            nothing was saved.
          </strong>
          <ul className="problem-list">
            {problems.map(([path, message]) => (
              <li key={path}>
                {labelFor(path)}: {message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <fieldset className="form-body" disabled={readOnly}>
        <FieldSet legend="General">
          <TextField
            name="name"
            label="Name"
            value={f.name}
            onChange={set('name')}
            error={err('name')}
            required
          />
          <TextField
            name="slug"
            label="Slug"
            value={f.slug}
            onChange={set('slug')}
            error={err('slug')}
            readOnly={mode === 'edit'}
            help={
              mode === 'edit' ? 'Fixed: callers use /proxy/{slug}/.' : 'Lowercase letters, digits, hyphens.'
            }
            required
          />
          <SelectField
            name="kind"
            label="Kind"
            value={f.kind}
            onChange={set('kind')}
            options={KINDS}
            error={err('kind')}
          />
          <TextField
            name="baseUrl"
            label="Base URL"
            type="url"
            value={f.baseUrl}
            onChange={set('baseUrl')}
            error={err('baseUrl')}
            placeholder="https://api.example.com/v1"
            className="span-2"
            required
          />
          <TextField
            name="timeoutMs"
            label="Timeout (ms)"
            type="number"
            value={f.timeoutMs}
            onChange={set('timeoutMs')}
            error={err('timeoutMs')}
            help="One deadline for every attempt of a call."
          />
          <TextField
            name="keyPattern"
            label="Key pattern"
            value={f.keyPattern}
            onChange={set('keyPattern')}
            error={err('keyPattern')}
            placeholder="^sk-[A-Za-z0-9]{32,}$"
            help="Regular expression every stored key must match (optional)."
            className="span-2"
          />
          <div className="field-stack">
            {mode === 'create' ? (
              <CheckboxField name="enabled" label="Enabled" checked={f.enabled} onChange={set('enabled')} />
            ) : null}
            <CheckboxField
              name="allowPrivateNetwork"
              label="Allow private network"
              checked={f.allowPrivateNetwork}
              onChange={set('allowPrivateNetwork')}
              error={err('allowPrivateNetwork')}
              help="Loopback and private addresses are refused otherwise."
            />
          </div>
        </FieldSet>

        <FieldSet legend="Authentication" description="How Tollgate injects the provider key into each call.">
          <SelectField
            name="authStyle"
            label="Style"
            value={f.authStyle}
            onChange={set('authStyle')}
            options={AUTH_STYLES}
            error={err('auth.style')}
          />
          {f.authStyle === 'HEADER' || f.authStyle === 'QUERY' ? (
            <TextField
              name="authName"
              label={f.authStyle === 'HEADER' ? 'Header name' : 'Query parameter name'}
              value={f.authName}
              onChange={set('authName')}
              error={err('auth.name')}
            />
          ) : null}
        </FieldSet>

        <FallbackPicker
          value={f.fallbacks}
          options={otherSlugs.filter((s) => s !== f.slug)}
          onChange={set('fallbacks')}
          error={err('fallbacks')}
        />

        <FieldSet legend="Rate limit" columns={3}>
          <div className="span-3">
            <CheckboxField
              name="rateLimited"
              label="Limit calls to this provider"
              checked={f.rateLimited}
              onChange={set('rateLimited')}
              error={errors.rateLimit}
            />
          </div>
          {f.rateLimited ? (
            <>
              <TextField
                name="rlPoints"
                label="Calls per period"
                type="number"
                value={f.rlPoints}
                onChange={set('rlPoints')}
                error={err('rateLimit.points')}
              />
              <TextField
                name="rlPeriodMs"
                label="Period (ms)"
                type="number"
                value={f.rlPeriodMs}
                onChange={set('rlPeriodMs')}
                error={err('rateLimit.periodMs')}
              />
              <TextField
                name="rlBurst"
                label="Burst"
                type="number"
                value={f.rlBurst}
                onChange={set('rlBurst')}
                error={err('rateLimit.burst')}
              />
              <SelectField
                name="rlMode"
                label="When exceeded"
                value={f.rlMode}
                onChange={set('rlMode')}
                options={MODES}
                error={err('rateLimit.mode')}
              />
              {f.rlMode === 'QUEUE' ? (
                <>
                  <TextField
                    name="rlMaxQueueSize"
                    label="Queue size"
                    type="number"
                    value={f.rlMaxQueueSize}
                    onChange={set('rlMaxQueueSize')}
                    error={err('rateLimit.maxQueueSize')}
                  />
                  <TextField
                    name="rlMaxQueueWaitMs"
                    label="Queue wait (ms)"
                    type="number"
                    value={f.rlMaxQueueWaitMs}
                    onChange={set('rlMaxQueueWaitMs')}
                    error={err('rateLimit.maxQueueWaitMs')}
                  />
                </>
              ) : null}
            </>
          ) : null}
        </FieldSet>

        <FieldSet legend="Retries" columns={4}>
          <TextField
            name="retryMaxAttempts"
            label="Attempts (first included)"
            type="number"
            value={f.retryMaxAttempts}
            onChange={set('retryMaxAttempts')}
            error={err('retry.maxAttempts')}
          />
          <TextField
            name="retryBaseDelayMs"
            label="Base delay (ms)"
            type="number"
            value={f.retryBaseDelayMs}
            onChange={set('retryBaseDelayMs')}
            error={err('retry.baseDelayMs')}
          />
          <TextField
            name="retryMaxDelayMs"
            label="Max delay (ms)"
            type="number"
            value={f.retryMaxDelayMs}
            onChange={set('retryMaxDelayMs')}
            error={err('retry.maxDelayMs')}
          />
          <TextField
            name="retryBudgetPercent"
            label="Retry budget (% of traffic)"
            type="number"
            value={f.retryBudgetPercent}
            onChange={set('retryBudgetPercent')}
            error={err('retry.budgetPercent')}
          />
          <div className="span-4">
            <CheckboxField
              name="retryNonIdempotent"
              label="Retry POST and PATCH too"
              checked={f.retryNonIdempotent}
              onChange={set('retryNonIdempotent')}
            />
          </div>
        </FieldSet>

        <FieldSet legend="Circuit breaker">
          <TextField
            name="breakerFailureThreshold"
            label="Failures that open it"
            type="number"
            value={f.breakerFailureThreshold}
            onChange={set('breakerFailureThreshold')}
            error={err('breaker.failureThreshold')}
          />
          <TextField
            name="breakerHalfOpenAfterMs"
            label="Probe after (ms)"
            type="number"
            value={f.breakerHalfOpenAfterMs}
            onChange={set('breakerHalfOpenAfterMs')}
            error={err('breaker.halfOpenAfterMs')}
          />
          <TextField
            name="breakerSuccessThreshold"
            label="Successes that close it"
            type="number"
            value={f.breakerSuccessThreshold}
            onChange={set('breakerSuccessThreshold')}
            error={err('breaker.successThreshold')}
          />
        </FieldSet>

        <FieldSet legend="Health check" columns={3}>
          <div className="span-3">
            <CheckboxField
              name="hcEnabled"
              label="Probe on a schedule"
              checked={f.hcEnabled}
              onChange={set('hcEnabled')}
            />
          </div>
          <SelectField
            name="hcMethod"
            label="Method"
            value={f.hcMethod}
            onChange={set('hcMethod')}
            options={METHODS}
            error={err('healthCheck.method')}
          />
          <TextField
            name="hcPath"
            label="Path"
            value={f.hcPath}
            onChange={set('hcPath')}
            error={err('healthCheck.path')}
          />
          <TextField
            name="hcExpectedStatus"
            label="Expected status"
            type="number"
            value={f.hcExpectedStatus}
            onChange={set('hcExpectedStatus')}
            error={err('healthCheck.expectedStatus')}
          />
          <TextField
            name="hcIntervalMs"
            label="Interval (ms)"
            type="number"
            value={f.hcIntervalMs}
            onChange={set('hcIntervalMs')}
            error={err('healthCheck.intervalMs')}
          />
          <TextField
            name="hcTimeoutMs"
            label="Probe timeout (ms)"
            type="number"
            value={f.hcTimeoutMs}
            onChange={set('hcTimeoutMs')}
            error={err('healthCheck.timeoutMs')}
          />
        </FieldSet>

        <FieldSet
          legend="Pricing"
          description="Amounts in whole currency units (0.002 = two tenths of a cent)."
        >
          <TextField
            name="currency"
            label="Currency"
            value={f.currency}
            onChange={set('currency')}
            error={err('pricing.currency')}
          />
          <TextField
            name="perRequest"
            label="Per request"
            type="number"
            step="any"
            value={f.perRequest}
            onChange={set('perRequest')}
            error={err('pricing.perRequestMicros')}
          />
          <TextField
            name="estimate"
            label="Estimate per call"
            type="number"
            step="any"
            value={f.estimate}
            onChange={set('estimate')}
            error={err('pricing.estimateMicros')}
            help="Reserved against budgets when a request does not bound its cost."
          />
          <ModelPrices models={f.models} onChange={set('models')} errors={errors} />
        </FieldSet>

        <FieldSet
          legend="Degraded mode"
          description="What callers get when this provider and its fallbacks cannot serve."
        >
          <div className="span-3">
            <CheckboxField
              name="staleOnError"
              label="Answer GETs with a recent cached answer"
              checked={f.staleOnError}
              onChange={set('staleOnError')}
            />
          </div>
          <TextField
            name="staleTtlMs"
            label="Cached answer max age (ms)"
            type="number"
            value={f.staleTtlMs}
            onChange={set('staleTtlMs')}
            error={err('degradedMode.staleTtlMs')}
          />
          <TextField
            name="staticStatus"
            label="Static answer status"
            type="number"
            value={f.staticStatus}
            onChange={set('staticStatus')}
            error={err('degradedMode.staticStatus')}
          />
          <TextField
            name="staticContentType"
            label="Static answer type"
            value={f.staticContentType}
            onChange={set('staticContentType')}
            error={err('degradedMode.staticContentType')}
          />
          <TextAreaField
            name="staticBody"
            label="Static answer body"
            value={f.staticBody}
            onChange={set('staticBody')}
            error={err('degradedMode.staticBody')}
            help="Empty for none. At most 64 KiB."
            className="span-3"
          />
        </FieldSet>
      </fieldset>
      {readOnly ? null : (
        <div className="form-footer">
          {status}
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Saving…' : mode === 'create' ? 'Create provider' : 'Save changes'}
          </button>
        </div>
      )}
    </form>
  );
}

/** Fallbacks, in the order they are tried: add from the other providers, reorder, remove. */
function FallbackPicker({
  value,
  options,
  onChange,
  error,
}: {
  value: string[];
  options: string[];
  onChange: (value: string[]) => void;
  error?: string;
}) {
  const available = options.filter((o) => !value.includes(o));
  const move = (i: number, by: number) => {
    const next = [...value];
    const [item] = next.splice(i, 1);
    next.splice(i + by, 0, item as string);
    onChange(next);
  };
  return (
    <fieldset className="fieldset">
      <legend>Fallbacks</legend>
      <p className="fieldset-description">Tried in order when this provider cannot serve a call.</p>
      {value.length === 0 ? <p className="muted">None.</p> : null}
      <ol className="fallback-list">
        {value.map((slug, i) => (
          <li key={slug}>
            <span className="mono">{slug}</span>
            <span className="row-actions">
              <button
                type="button"
                className="button button-small"
                disabled={i === 0}
                onClick={() => move(i, -1)}
                aria-label={`Move ${slug} up`}
              >
                ↑
              </button>
              <button
                type="button"
                className="button button-small"
                disabled={i === value.length - 1}
                onClick={() => move(i, 1)}
                aria-label={`Move ${slug} down`}
              >
                ↓
              </button>
              <button
                type="button"
                className="button button-small"
                onClick={() => onChange(value.filter((s) => s !== slug))}
                aria-label={`Remove fallback ${slug}`}
              >
                Remove
              </button>
            </span>
          </li>
        ))}
      </ol>
      {available.length > 0 ? (
        <div className="inline-add">
          <label htmlFor="add-fallback" className="visually-hidden">
            Add a fallback
          </label>
          <select
            id="add-fallback"
            value=""
            onChange={(e) => e.target.value && onChange([...value, e.target.value])}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'fallbacks-error' : undefined}
          >
            <option value="">Add a fallback…</option>
            {available.map((slug) => (
              <option key={slug} value={slug}>
                {slug}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {error ? (
        <p className="field-error" id="fallbacks-error" data-field-error>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

function ModelPrices({
  models,
  onChange,
  errors,
}: {
  models: ModelRow[];
  onChange: (models: ModelRow[]) => void;
  errors: FieldErrors;
}) {
  const update = (i: number, key: keyof ModelRow) => (value: string) =>
    onChange(models.map((m, j) => (j === i ? { ...m, [key]: value } : m)));
  return (
    <div className="span-3 model-prices">
      <p className="subheading">Model prices (per million tokens)</p>
      {models.map((m, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place, the index is their identity
        <div className="model-row" key={i}>
          <TextField
            name={`model-${i}`}
            label="Model"
            value={m.model}
            onChange={update(i, 'model')}
            error={errorFor(errors, `pricing.models.${i}.model`)}
          />
          <TextField
            name={`model-${i}-input`}
            label="Input"
            type="number"
            step="any"
            value={m.input}
            onChange={update(i, 'input')}
            error={errorFor(errors, `pricing.models.${i}.inputPerMillionMicros`)}
          />
          <TextField
            name={`model-${i}-output`}
            label="Output"
            type="number"
            step="any"
            value={m.output}
            onChange={update(i, 'output')}
            error={errorFor(errors, `pricing.models.${i}.outputPerMillionMicros`)}
          />
          <TextField
            name={`model-${i}-cached`}
            label="Cached input"
            type="number"
            step="any"
            value={m.cached}
            onChange={update(i, 'cached')}
            error={errorFor(errors, `pricing.models.${i}.cachedInputPerMillionMicros`)}
          />
          <button
            type="button"
            className="button button-small model-remove"
            onClick={() => onChange(models.filter((_, j) => j !== i))}
            aria-label={`Remove model price ${m.model || i + 1}`}
          >
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="button button-small"
        onClick={() => onChange([...models, { model: '', input: '', output: '', cached: '' }])}
      >
        Add model price
      </button>
    </div>
  );
}
