import { Suspense, useEffect, useRef } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useSession } from '../auth/SessionProvider.tsx';
import { useViewer } from '../auth/viewer.tsx';
import { Icon } from '../components/icons.tsx';
import { Loading } from '../components/ui.tsx';
import type { ConnectionState } from '../graphql/connection.ts';
import { useLiveEvents } from '../graphql/live-events.tsx';
import { ROUTES } from './routes.tsx';

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
};

export function ConnectionIndicator() {
  const { connection } = useLiveEvents();
  return (
    <div
      className={`connection connection-${connection}`}
      role="status"
      aria-live="polite"
      data-connection={connection}
    >
      <span className="connection-dot" aria-hidden="true" />
      <span>
        <span className="visually-hidden">Updates: </span>
        {CONNECTION_LABEL[connection]}
      </span>
    </div>
  );
}

/** The frame of every page: skip link, sidebar navigation, the viewer, and the page itself. */
export function Shell() {
  const viewer = useViewer();
  const { signOut } = useSession();
  const main = useRef<HTMLElement>(null);
  const location = useLocation();
  const first = useRef(true);

  // After a navigation, focus moves to the new page (for screen readers and keyboards).
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation only
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [location.pathname]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            <Icon name="gate" size={16} />
          </span>
          <span className="brand-name">Tollgate</span>
          <span className="brand-sub">console</span>
        </div>
        <nav aria-label="Main">
          <ul className="nav-list">
            {ROUTES.map((route) => (
              <li key={route.to}>
                <NavLink to={route.to} end={route.to === '/'} className="nav-link">
                  <Icon name={route.icon} />
                  {route.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="sidebar-footer">
          <ConnectionIndicator />
          {viewer ? (
            <div className="viewer">
              <span className="viewer-subject" title={viewer.email ?? viewer.subject}>
                {viewer.email ?? viewer.subject}
              </span>
              <span className="viewer-role" data-role={viewer.role}>
                {viewer.role.toLowerCase()}
              </span>
            </div>
          ) : (
            <div className="viewer" aria-busy="true" />
          )}
          <button type="button" className="button button-sidebar" onClick={() => signOut('signed-out')}>
            <Icon name="signOut" size={16} />
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" ref={main} tabIndex={-1} className="main">
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
