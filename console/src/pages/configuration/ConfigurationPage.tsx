import { type ChangeEvent, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import { ConfirmButton, downloadText, messageOf, Outcome } from '../../components/ops-kit.tsx';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ConfigPlanAction, ConsoleImportConfigMutation } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';
import { type LocatedError, locateErrors } from './error-lines.ts';

const ExportQuery = graphql(`
  query ConsoleExportConfig {
    exportConfig
  }
`);

const ImportMutation = graphql(`
  mutation ConsoleImportConfig($document: String!, $dryRun: Boolean!, $prune: Boolean!) {
    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {
      __typename
      ... on ImportConfigPayload {
        applied
        plan { section key action fields }
        clientKeys { name value }
        channelSecrets { name value }
      }
      ... on ValidationError { message fieldErrors { path message } }
    }
  }
`);

type Payload = Extract<ConsoleImportConfigMutation['importConfig'], { __typename: 'ImportConfigPayload' }>;

const TONE: Record<ConfigPlanAction, 'ok' | 'info' | 'bad' | 'neutral'> = {
  CREATE: 'ok',
  UPDATE: 'info',
  DELETE: 'bad',
  UNCHANGED: 'neutral',
};

function ExportPanel({ onEdit }: { onEdit: ((text: string) => void) | null }) {
  const [{ data, error }, reload] = useQuery({ query: ExportQuery, requestPolicy: 'network-only' });
  const text = data?.exportConfig ?? '';
  const lines = text.replace(/\n$/, '').split('\n');
  return (
    <Panel
      title="Current configuration"
      labelledBy="export-title"
      actions={
        <span className="page-actions">
          <button
            type="button"
            className="button button-small"
            onClick={() => reload({ requestPolicy: 'network-only' })}
          >
            Reload
          </button>
          {onEdit ? (
            <button
              type="button"
              className="button button-small"
              disabled={!data}
              onClick={() => onEdit(text)}
            >
              Edit a copy
            </button>
          ) : null}
          <button
            type="button"
            className="button button-small button-primary"
            disabled={!data}
            onClick={() => downloadText('tollgate.yaml', text, 'application/yaml')}
          >
            Download YAML
          </button>
        </span>
      }
    >
      {error ? <ErrorNotice error={error} /> : null}
      {!data ? (
        <Loading />
      ) : (
        <section aria-label="Exported configuration (YAML)">
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling block must be reachable by keyboard */}
          <pre className="code-view" tabIndex={0} data-export>
            <code className="code-lines">
              {lines.map((line, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
                <span key={i} style={{ display: 'contents' }}>
                  <span className="code-line-no" aria-hidden="true">
                    {i + 1}
                  </span>
                  <span>{line || ' '}</span>
                </span>
              ))}
            </code>
          </pre>
        </section>
      )}
    </Panel>
  );
}

function PlanTable({ plan }: { plan: Payload['plan'] }) {
  const changed = plan.filter((p) => p.action !== 'UNCHANGED');
  const unchanged = plan.length - changed.length;
  return (
    <>
      {changed.length === 0 ? (
        <EmptyState title="Nothing to change">
          <p>Tollgate already has this configuration.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Plan">
            <thead>
              <tr>
                <th scope="col">Action</th>
                <th scope="col">Section</th>
                <th scope="col">Name</th>
                <th scope="col">Fields</th>
              </tr>
            </thead>
            <tbody>
              {changed.map((item) => (
                <tr
                  key={`${item.section}/${item.key}`}
                  data-plan={`${item.action} ${item.section} ${item.key}`}
                >
                  <td>
                    <Badge tone={TONE[item.action]}>
                      <span className="plan-action">{item.action}</span>
                    </Badge>
                  </td>
                  <td>{item.section}</td>
                  <td className="mono">{item.key}</td>
                  <td className="mono">{item.fields.join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {unchanged > 0 ? (
        <p className="panel-body cell-sub">
          {unchanged} item{unchanged === 1 ? '' : 's'} unchanged.
        </p>
      ) : null}
    </>
  );
}

function Secrets({ result }: { result: Payload }) {
  const secrets = [
    ...result.clientKeys.map((s) => ({ ...s, kind: 'Client key' })),
    ...result.channelSecrets.map((s) => ({ ...s, kind: 'Alert channel secret' })),
  ];
  if (secrets.length === 0) return null;
  return (
    <div className="panel-body">
      <Outcome tone="info">
        <strong>Shown once.</strong> Copy these now: Tollgate keeps only their hashes.
        <ul className="error-list">
          {secrets.map((s) => (
            <li key={`${s.kind}/${s.name}`}>
              {s.kind} <strong>{s.name}</strong>: <span className="secret-value">{s.value}</span>
            </li>
          ))}
        </ul>
      </Outcome>
    </div>
  );
}

function ImportPanel({ text, setText }: { text: string; setText: (t: string) => void }) {
  const [prune, setPrune] = useState(false);
  const [state, run] = useMutation(ImportMutation);
  const [result, setResult] = useState<{
    dryRun: boolean;
    payload: Payload;
    text: string;
    prune: boolean;
  } | null>(null);
  const [errors, setErrors] = useState<{ message: string; located: LocatedError[] } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);

  const submit = async (dryRun: boolean) => {
    setProblem(null);
    const response = await run({ document: text, dryRun, prune });
    const answer = response.data?.importConfig;
    if (!answer) {
      setProblem(messageOf(response.error));
      return;
    }
    if (answer.__typename === 'ValidationError') {
      setResult(null);
      setErrors({ message: answer.message, located: locateErrors(text, answer.fieldErrors) });
      return;
    }
    setErrors(null);
    setResult({ dryRun, payload: answer, text, prune });
  };

  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    setText(await file.text());
    setResult(null);
    setErrors(null);
    event.target.value = '';
  };

  const goTo = (error: LocatedError) => {
    const area = editor.current;
    if (!area || error.offset === null) return;
    area.focus();
    const end = text.indexOf('\n', error.offset);
    area.setSelectionRange(error.offset, end === -1 ? text.length : end);
  };

  // Apply is offered for exactly the document (and prune choice) whose plan is on screen.
  const planned = result?.dryRun && result.text === text && result.prune === prune;
  const changes = result?.payload.plan.filter((p) => p.action !== 'UNCHANGED').length ?? 0;
  return (
    <Panel title="Apply a document" labelledBy="import-title">
      <div className="panel-body">
        <div className="field">
          <label htmlFor="config-document">Configuration document (YAML)</label>
          <textarea
            id="config-document"
            ref={editor}
            rows={16}
            value={text}
            spellCheck={false}
            aria-describedby="config-document-help"
            aria-invalid={errors !== null}
            onChange={(e) => setText(e.target.value)}
          />
          <p id="config-document-help" className="field-help">
            The format <code>exportConfig</code> writes (version 1). Paste it here or upload a file.
          </p>
        </div>
        <div className="form-actions">
          <label className="button" htmlFor="config-file">
            Upload a file…
          </label>
          <input
            id="config-file"
            type="file"
            accept=".yaml,.yml,application/yaml,text/yaml,text/plain"
            className="visually-hidden"
            onChange={onFile}
          />
          <label className="checkbox">
            <input type="checkbox" checked={prune} onChange={(e) => setPrune(e.target.checked)} />
            Prune: delete what the document leaves out (clients are revoked)
          </label>
        </div>
        <div className="form-actions">
          <button
            type="button"
            className="button"
            disabled={!text.trim() || state.fetching}
            onClick={() => submit(true)}
          >
            Plan (dry run)
          </button>
          <ConfirmButton
            label="Apply"
            confirmLabel="Apply now"
            question={`Apply ${changes} change${changes === 1 ? '' : 's'}${prune ? ', pruning' : ''}?`}
            danger={prune}
            disabled={!planned || changes === 0 || state.fetching}
            onConfirm={() => submit(false)}
          />
          {!planned && text.trim() ? (
            <span className="muted">Plan the document first, then apply it.</span>
          ) : null}
        </div>
      </div>
      {problem ? (
        <div className="panel-body">
          <Outcome tone="bad">{problem}</Outcome>
        </div>
      ) : null}
      {errors ? (
        <div className="panel-body">
          <div className="notice notice-bad" role="alert">
            <strong>Nothing was applied.</strong> {errors.message}
            <ul className="error-list" aria-label="Problems in the document">
              {errors.located.map((e) => (
                <li key={`${e.where}: ${e.message}`}>
                  {e.line !== null ? (
                    <button type="button" className="expand-button" onClick={() => goTo(e)}>
                      Line {e.line}
                    </button>
                  ) : null}{' '}
                  <span className="error-path">{e.where}</span>: {e.message}
                </li>
              ))}
            </ul>
          </div>
        </div>
      ) : null}
      {result ? (
        <>
          <div className="panel-body">
            {result.dryRun ? (
              <Outcome tone="info">
                <strong>Plan (dry run):</strong> nothing has been changed yet. {changes} change
                {changes === 1 ? '' : 's'}.
              </Outcome>
            ) : (
              <Outcome tone="ok">
                {result.payload.applied
                  ? `Applied ${changes} change${changes === 1 ? '' : 's'} in one transaction.`
                  : 'Nothing to apply: Tollgate already has this configuration.'}
              </Outcome>
            )}
          </div>
          <Secrets result={result.payload} />
          <PlanTable plan={result.payload.plan} />
        </>
      ) : null}
    </Panel>
  );
}

export default function ConfigurationPage() {
  // Every role reads the document (alert-channel URLs redacted below admin); only admins apply.
  const canImport = useCan('admin');
  const [text, setText] = useState('');
  return (
    <>
      <PageHeader
        title="Configuration"
        description="Providers, budgets, clients and alert channels as one YAML document, without secrets."
      />
      <ExportPanel onEdit={canImport ? setText : null} />
      {canImport ? <ImportPanel text={text} setText={setText} /> : null}
    </>
  );
}
