import { type FormEvent, useState } from 'react';
import { useMutation } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import {
  ConfirmButton,
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
import { formatRelative, formatTime } from '../../components/format.ts';
import { EmptyState, Panel } from '../../components/ui.tsx';
import { AddKeyMutation, RevokeKeyMutation, RotateKeyMutation, UpdateKeyMutation } from './operations.ts';
import type { ProviderDetailData } from './ProviderDetail.tsx';
import { KeyStatusBadge } from './status.tsx';

type Key = ProviderDetailData['keys'][number];

/** A provider's keys: metadata only (a secret is typed in once and never readable again). */
export function ProviderKeys({
  provider,
  onChanged,
}: {
  provider: ProviderDetailData;
  onChanged: () => void;
}) {
  const canAdmin = useCan('admin');
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [editing, setEditing] = useState<{ id: string; mode: 'edit' | 'rotate' } | null>(null);
  const done = (message: string) => {
    setOutcome({ tone: 'ok', message });
    setEditing(null);
    onChanged();
  };

  return (
    <>
      {provider.keySource === 'ENV' ? (
        <div className="notice notice-warn">
          This provider has no stored key and uses{' '}
          <code>TOLLGATE_PROVIDER_KEY_{provider.slug.toUpperCase().replaceAll('-', '_')}</code> from the
          environment (development only). Add a key to store one in the vault.
        </div>
      ) : null}
      <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />
      <Panel title="Keys" labelledBy="keys-title">
        {provider.keys.length === 0 ? (
          <EmptyState title="No keys.">{canAdmin ? <p>Add one below.</p> : null}</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="provider-keys">
              <caption className="visually-hidden">Keys of {provider.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Weight
                  </th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Added</th>
                  {canAdmin ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {provider.keys.map((key) => (
                  <KeyRow
                    key={key.id}
                    keyData={key}
                    canAdmin={canAdmin}
                    editing={editing?.id === key.id ? editing.mode : null}
                    onEdit={(mode) => setEditing(mode ? { id: key.id, mode } : null)}
                    onDone={done}
                    onFailed={(message) => setOutcome({ tone: 'bad', message })}
                  />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      {canAdmin ? <AddKeyForm slug={provider.slug} onAdded={done} /> : null}
    </>
  );
}

function KeyRow({
  keyData: key,
  canAdmin,
  editing,
  onEdit,
  onDone,
  onFailed,
}: {
  keyData: Key;
  canAdmin: boolean;
  editing: 'edit' | 'rotate' | null;
  onEdit: (mode: 'edit' | 'rotate' | null) => void;
  onDone: (message: string) => void;
  onFailed: (message: string) => void;
}) {
  const [, revoke] = useMutation(RevokeKeyMutation);
  const live = key.status === 'ACTIVE' || key.status === 'RETIRING';
  return (
    <>
      <tr data-key-label={key.label}>
        <td>
          <strong>{key.label}</strong>
          <span className="cell-sub mono" title={`Fingerprint ${key.fingerprint}`}>
            {key.last4 ? `••••${key.last4}` : '••••'} · {key.fingerprint.slice(0, 12)}
          </span>
          {key.problem ? <span className="cell-sub text-bad">{key.problem}</span> : null}
        </td>
        <td>
          <KeyStatusBadge status={key.status} />
          {key.graceUntil && key.status === 'RETIRING' ? (
            <span className="cell-sub" title={formatTime(key.graceUntil)}>
              until {formatRelative(key.graceUntil)}
            </span>
          ) : null}
        </td>
        <td className="num">{key.weight}</td>
        <td title={formatTime(key.expiresAt)}>
          {key.expiresAt ? formatRelative(key.expiresAt) : <span className="muted">never</span>}
        </td>
        <td title={formatTime(key.lastUsedAt)}>
          {key.lastUsedAt ? formatRelative(key.lastUsedAt) : <span className="muted">never</span>}
        </td>
        <td title={formatTime(key.createdAt)}>
          {formatRelative(key.createdAt)}
          <span className="cell-sub">by {key.createdBy}</span>
        </td>
        {canAdmin ? (
          <td>
            {live ? (
              <span className="row-actions">
                <button
                  type="button"
                  className="button button-small"
                  aria-expanded={editing === 'edit'}
                  onClick={() => onEdit(editing === 'edit' ? null : 'edit')}
                >
                  Edit<span className="visually-hidden"> key {key.label}</span>
                </button>
                {key.status === 'ACTIVE' ? (
                  <button
                    type="button"
                    className="button button-small"
                    aria-expanded={editing === 'rotate'}
                    onClick={() => onEdit(editing === 'rotate' ? null : 'rotate')}
                  >
                    Rotate<span className="visually-hidden"> key {key.label}</span>
                  </button>
                ) : null}
                <ConfirmButton
                  className="button button-small button-danger"
                  title={`Revoke key "${key.label}"?`}
                  body={<p>It stops serving calls at once, on every replica. This cannot be undone.</p>}
                  confirmLabel="Revoke key"
                  onConfirm={async () => {
                    const r = await revoke({ keyId: key.id });
                    const a = r.data?.revokeProviderKey;
                    if (a?.__typename === 'ProviderKeyPayload') onDone(`Key "${key.label}" revoked.`);
                    else onFailed(a?.message ?? r.error?.message ?? 'Failed.');
                  }}
                >
                  Revoke<span className="visually-hidden"> key {key.label}</span>
                </ConfirmButton>
              </span>
            ) : (
              <span className="muted">—</span>
            )}
          </td>
        ) : null}
      </tr>
      {editing ? (
        <tr className="row-editor">
          <td colSpan={7}>
            {editing === 'edit' ? (
              <EditKeyForm keyData={key} onDone={onDone} onCancel={() => onEdit(null)} />
            ) : (
              <RotateKeyForm keyData={key} onDone={onDone} onCancel={() => onEdit(null)} />
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}

function AddKeyForm({ slug, onAdded }: { slug: string; onAdded: (message: string) => void }) {
  const [{ fetching }, add] = useMutation(AddKeyMutation);
  const [label, setLabel] = useState('');
  const [secret, setSecret] = useState('');
  const [weight, setWeight] = useState('1');
  const [expires, setExpires] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Outcome>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(null);
    const r = await add({
      input: {
        provider: slug,
        secret,
        label: label.trim() || null,
        weight: toInt(weight),
        expiresAt: fromLocalDateTime(expires),
      },
    });
    const a = r.data?.addProviderKey;
    if (a?.__typename === 'ProviderKeyPayload') {
      // The secret leaves the page's memory as soon as it is stored.
      setSecret('');
      setLabel('');
      setExpires('');
      setWeight('1');
      setErrors({});
      onAdded(`Key "${a.key.label}" added (••••${a.key.last4}). Its secret cannot be shown again.`);
    } else if (a?.__typename === 'ValidationError') {
      setErrors(fieldErrorMap(a.fieldErrors));
    } else {
      setFailure({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
    }
  };

  return (
    <Panel title="Add a key" labelledBy="add-key-title">
      <form className="panel-body" onSubmit={submit} noValidate aria-labelledby="add-key-title">
        <div className="field-grid field-grid-4">
          <TextField
            name="keyLabel"
            label="Label"
            value={label}
            onChange={setLabel}
            placeholder="default"
            error={errorFor(errors, 'label')}
          />
          <TextField
            name="keySecret"
            label="Secret"
            type="password"
            autoComplete="off"
            value={secret}
            onChange={setSecret}
            error={errorFor(errors, 'secret')}
            help="Stored encrypted; never shown again."
            required
          />
          <TextField
            name="keyWeight"
            label="Weight"
            type="number"
            value={weight}
            onChange={setWeight}
            error={errorFor(errors, 'weight')}
            help="Share of calls among active keys."
          />
          <TextField
            name="keyExpires"
            label="Expires"
            type="datetime-local"
            value={expires}
            onChange={setExpires}
            error={errorFor(errors, 'expiresAt')}
            help="Optional."
          />
        </div>
        <OutcomeNotice outcome={failure} />
        <button type="submit" className="button button-primary" disabled={fetching || secret === ''}>
          {fetching ? 'Adding…' : 'Add key'}
        </button>
      </form>
    </Panel>
  );
}

function EditKeyForm({
  keyData: key,
  onDone,
  onCancel,
}: {
  keyData: Key;
  onDone: (m: string) => void;
  onCancel: () => void;
}) {
  const [{ fetching }, update] = useMutation(UpdateKeyMutation);
  const [label, setLabel] = useState(key.label);
  const [weight, setWeight] = useState(String(key.weight));
  const [expires, setExpires] = useState(toLocalDateTime(key.expiresAt));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Outcome>(null);
  return (
    <form
      className="inline-form"
      aria-label={`Edit key ${key.label}`}
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const r = await update({
          input: { keyId: key.id, label, weight: toInt(weight), expiresAt: fromLocalDateTime(expires) },
        });
        const a = r.data?.updateProviderKey;
        if (a?.__typename === 'ProviderKeyPayload') onDone(`Key "${a.key.label}" updated.`);
        else if (a?.__typename === 'ValidationError') setErrors(fieldErrorMap(a.fieldErrors));
        else setFailure({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
      }}
    >
      <div className="field-grid field-grid-4">
        <TextField
          name="editLabel"
          label="Label"
          value={label}
          onChange={setLabel}
          error={errorFor(errors, 'label')}
        />
        <TextField
          name="editWeight"
          label="Weight"
          type="number"
          value={weight}
          onChange={setWeight}
          error={errorFor(errors, 'weight')}
        />
        <TextField
          name="editExpires"
          label="Expires"
          type="datetime-local"
          value={expires}
          onChange={setExpires}
          error={errorFor(errors, 'expiresAt')}
          help="Empty: never."
        />
        <div className="inline-form-actions">
          <button type="submit" className="button button-primary" disabled={fetching}>
            Save key
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
      <OutcomeNotice outcome={failure} />
    </form>
  );
}

function RotateKeyForm({
  keyData: key,
  onDone,
  onCancel,
}: {
  keyData: Key;
  onDone: (m: string) => void;
  onCancel: () => void;
}) {
  const [{ fetching }, rotate] = useMutation(RotateKeyMutation);
  const [secret, setSecret] = useState('');
  const [grace, setGrace] = useState('3600');
  const [label, setLabel] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Outcome>(null);
  return (
    <form
      className="inline-form"
      aria-label={`Rotate key ${key.label}`}
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const r = await rotate({
          input: {
            keyId: key.id,
            newSecret: secret,
            graceSeconds: toInt(grace),
            label: label.trim() || null,
          },
        });
        const a = r.data?.rotateProviderKey;
        if (a?.__typename === 'RotateProviderKeyPayload') {
          setSecret('');
          onDone(
            a.oldKey.status === 'RETIRING'
              ? `Key rotated. The old key serves only as a fallback until ${formatTime(a.oldKey.graceUntil)}.`
              : 'Key rotated; the old key was revoked at once.',
          );
        } else if (a?.__typename === 'ValidationError') setErrors(fieldErrorMap(a.fieldErrors));
        else setFailure({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
      }}
    >
      <div className="field-grid field-grid-4">
        <TextField
          name="rotateSecret"
          label="New secret"
          type="password"
          autoComplete="off"
          value={secret}
          onChange={setSecret}
          error={errorFor(errors, 'newSecret')}
          required
        />
        <TextField
          name="rotateGrace"
          label="Grace (seconds)"
          type="number"
          value={grace}
          onChange={setGrace}
          error={errorFor(errors, 'graceSeconds')}
          help="The old key keeps serving as a fallback this long; 0 revokes it now."
        />
        <TextField
          name="rotateLabel"
          label="New label"
          value={label}
          onChange={setLabel}
          placeholder={key.label}
          error={errorFor(errors, 'label')}
        />
        <div className="inline-form-actions">
          <button type="submit" className="button button-primary" disabled={fetching || secret === ''}>
            Rotate key
          </button>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
      <OutcomeNotice outcome={failure} />
    </form>
  );
}
