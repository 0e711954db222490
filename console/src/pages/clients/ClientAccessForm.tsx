import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  CheckboxField,
  errorFor,
  type FieldErrors,
  fieldErrorMap,
  fromLocalDateTime,
  type Outcome,
  OutcomeNotice,
  TextField,
  toInt,
  toLocalDateTime,
} from '../../components/form-fields.tsx';
import type { ConsoleClientFieldsFragment } from '../../gql/graphql.ts';
import { ProviderOptionsQuery } from '../providers/operations.ts';
import { AllowedProvidersFieldset } from './AllowedProvidersFieldset.tsx';
import { UpdateClientMutation } from './operations.ts';

/**
 * What a client may do (allowed providers, its own rate limit, expiry), edited in place. The
 * version read with the page goes back with the change; if someone changed the client since, the
 * page says so and offers their version.
 */
export function ClientAccessForm({
  client,
  onDone,
  onReload,
}: {
  client: ConsoleClientFieldsFragment;
  onDone: (message: string) => void;
  onReload: () => void;
}) {
  const [{ data: options }] = useQuery({ query: ProviderOptionsQuery });
  const [{ fetching }, update] = useMutation(UpdateClientMutation);
  const [all, setAll] = useState(client.allowedProviders === null || client.allowedProviders === undefined);
  const [allowed, setAllowed] = useState<string[]>(client.allowedProviders?.map((p) => p.slug) ?? []);
  const [limited, setLimited] = useState(client.rateLimit != null);
  const [points, setPoints] = useState(String(client.rateLimit?.points ?? 60));
  const [periodMs, setPeriodMs] = useState(String(client.rateLimit?.periodMs ?? 60000));
  const [expires, setExpires] = useState(toLocalDateTime(client.expiresAt));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [outcome, setOutcome] = useState<Outcome>(null);
  const slugs = options?.providers.edges.map((e) => e.node.slug) ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setOutcome(null);
    const r = await update({
      input: {
        id: client.id,
        version: client.version,
        allowedProviders: all ? null : allowed,
        rateLimit: limited
          ? { points: toInt(points) ?? Number.NaN, periodMs: toInt(periodMs) ?? Number.NaN }
          : null,
        expiresAt: fromLocalDateTime(expires),
      },
    });
    const a = r.data?.updateClient;
    if (a?.__typename === 'ClientPayload') {
      setErrors({});
      onDone('Saved: the proxy applies it on every replica within a second.');
    } else if (a?.__typename === 'ValidationError') setErrors(fieldErrorMap(a.fieldErrors));
    else if (a?.__typename === 'VersionMismatchError')
      setOutcome({
        tone: 'warn',
        message: (
          <>
            Someone changed this client since you opened it; nothing was saved.{' '}
            <button type="button" className="button button-small" onClick={onReload}>
              Reload
            </button>
          </>
        ),
      });
    else setOutcome({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
  };

  return (
    <form onSubmit={submit} noValidate aria-label={`Access of ${client.name}`} className="inline-form">
      <AllowedProvidersFieldset
        slugs={slugs}
        all={all}
        onAllChange={setAll}
        allowed={allowed}
        onAllowedChange={setAllowed}
        errors={errors}
      />
      <fieldset className="fieldset">
        <legend>Limits</legend>
        <CheckboxField
          name="clientLimited"
          label="Limit this client's calls"
          checked={limited}
          onChange={setLimited}
        />
        <div className="field-grid field-grid-3">
          {limited ? (
            <>
              <TextField
                name="clientPoints"
                label="Calls per period"
                type="number"
                value={points}
                onChange={setPoints}
                error={errorFor(errors, 'rateLimit.points')}
              />
              <TextField
                name="clientPeriod"
                label="Period (ms)"
                type="number"
                value={periodMs}
                onChange={setPeriodMs}
                error={errorFor(errors, 'rateLimit.periodMs')}
              />
            </>
          ) : null}
          <TextField
            name="clientExpires"
            label="Expires"
            type="datetime-local"
            value={expires}
            onChange={setExpires}
            error={errorFor(errors, 'expiresAt')}
            help="Empty: never."
          />
        </div>
      </fieldset>
      <OutcomeNotice outcome={outcome} />
      <button type="submit" className="button button-primary" disabled={fetching}>
        {fetching ? 'Saving…' : 'Save access'}
      </button>
    </form>
  );
}
