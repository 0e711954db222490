import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import {
  type FieldErrors,
  fieldErrorMap,
  type Outcome,
  OutcomeNotice,
} from '../../components/form-fields.tsx';
import { formatTime } from '../../components/format.ts';
import { Panel } from '../../components/ui.tsx';
import { ProviderOptionsQuery, UpdateProviderMutation } from './operations.ts';
import type { ProviderDetailData } from './ProviderDetail.tsx';
import { ProviderForm } from './ProviderForm.tsx';
import { providerFormFrom, toProviderInput } from './provider-form-state.ts';

/**
 * Every setting of a provider as one form. The version read with the page goes back with the
 * update: if someone saved in between, the server refuses (VersionMismatchError) and the page
 * says so, offering to reload their version (the edits here are then dropped).
 */
export function ProviderSettings({
  provider,
  onReload,
  reloading,
}: {
  provider: ProviderDetailData;
  onReload: () => void;
  reloading: boolean;
}) {
  const canEdit = useCan('admin');
  const [{ data: options }] = useQuery({ query: ProviderOptionsQuery });
  const [{ fetching }, update] = useMutation(UpdateProviderMutation);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [conflict, setConflict] = useState<number | null>(null);
  // The form starts again from the provider as loaded after a save or a reload, not on every refetch.
  const [generation, setGeneration] = useState(0);
  const [baseVersion, setBaseVersion] = useState(provider.version);
  // After "Reload": the version the server said is current; the form restarts once it has arrived.
  const [awaited, setAwaited] = useState<number | null>(null);
  useEffect(() => {
    if (awaited === null || provider.version < awaited) return;
    setAwaited(null);
    setBaseVersion(provider.version);
    setGeneration((g) => g + 1);
  }, [awaited, provider.version]);

  return (
    <Panel
      title="Settings"
      labelledBy="settings-title"
      actions={
        <span className="muted">
          Version {baseVersion} · updated {formatTime(provider.updatedAt)}
        </span>
      }
    >
      <div className="panel-body">
        {!canEdit ? (
          <div className="notice notice-info">Read-only: changing a provider needs the admin role.</div>
        ) : null}
        {conflict !== null ? (
          <div className="notice notice-warn notice-row" role="alert" data-testid="version-conflict">
            <div>
              <strong>Someone else saved this provider while you were editing</strong> (it is now at version{' '}
              {conflict}, you started from {baseVersion}). Nothing of yours was saved. Reload to see their
              settings, then make your change again.
            </div>
            <button
              type="button"
              className="button"
              disabled={reloading}
              onClick={() => {
                setAwaited(conflict);
                setConflict(null);
                setErrors({});
                setOutcome({ tone: 'ok', message: 'Reloaded the current settings.' });
                onReload();
              }}
            >
              Reload
            </button>
          </div>
        ) : null}
        <ProviderForm
          key={`${generation}`}
          mode="edit"
          initial={providerFormFrom(provider)}
          otherSlugs={options?.providers.edges.map((e) => e.node.slug) ?? []}
          errors={errors}
          readOnly={!canEdit}
          busy={fetching}
          status={<OutcomeNotice outcome={outcome} />}
          onSubmit={async (state) => {
            setOutcome(null);
            const r = await update({
              input: { ...toProviderInput(state), slug: provider.slug, version: baseVersion },
            });
            const a = r.data?.updateProvider;
            if (a?.__typename === 'ProviderPayload') {
              setErrors({});
              setBaseVersion(a.provider.version);
              setOutcome({ tone: 'ok', message: `Saved (version ${a.provider.version}).` });
            } else if (a?.__typename === 'ValidationError') {
              setErrors(fieldErrorMap(a.fieldErrors));
            } else if (a?.__typename === 'VersionMismatchError') {
              setErrors({});
              setConflict(a.currentVersion);
            } else {
              setOutcome({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
            }
          }}
        />
      </div>
    </Panel>
  );
}
