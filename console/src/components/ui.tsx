import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

/** A short status word with a coloured dot; the word carries the meaning, not the colour. */
export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      <span className="badge-dot" aria-hidden="true" />
      {children}
    </span>
  );
}

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description ? <p className="page-description">{description}</p> : null}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}

export function Panel({
  title,
  actions,
  children,
  className,
  labelledBy,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  labelledBy?: string;
}) {
  return (
    <section className={`panel ${className ?? ''}`} aria-labelledby={labelledBy}>
      {title ? (
        <div className="panel-header">
          <h2 id={labelledBy}>{title}</h2>
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

/** A request that failed, in words; UNAUTHENTICATED never shows here (it ends the session). */
export function ErrorNotice({
  error,
  title = 'Could not load this',
}: {
  error: CombinedError;
  title?: string;
}) {
  const message =
    error.graphQLErrors[0]?.message ?? (error.networkError ? 'Tollgate did not answer.' : error.message);
  return (
    <div className="notice notice-bad" role="alert">
      <strong>{title}.</strong> {message}
    </div>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}…
    </div>
  );
}

/** A page another change will fill in. */
export function Coming({ title, what }: { title: string; what: string }) {
  return (
    <>
      <PageHeader title={title} />
      <Panel>
        <EmptyState title="Coming soon">
          <p>{what}</p>
          <p>
            Until then, the same is available in <a href="/graphql">GraphiQL</a>.
          </p>
        </EmptyState>
      </Panel>
    </>
  );
}
