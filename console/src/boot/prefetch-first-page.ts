import { sessionFor, storedToken, tokenInFragment } from '../auth/session.ts';
import { ViewerQuery } from '../auth/viewer-query.ts';
import { prefetch, queryText } from '../graphql/prefetch.ts';
import { OverviewQuery } from '../pages/overview/overview-query.ts';
import { overviewVariables } from '../pages/overview/overview-variables.ts';

/**
 * Sends the queries the first page will make, before the application is loaded: the viewer's
 * (every page asks it) and, on the Overview, the Overview's. Only for a session that can be
 * used: no token, or an expired one, sends nothing (the sign-in page asks nothing of the server).
 */
export function prefetchFirstPage(): void {
  // A single sign-on refusal in the fragment ends the session (SessionProvider): ask nothing.
  if (new URLSearchParams(window.location.hash.replace(/^#/, '')).has('sso_error')) return;
  // The token the session will start with (SessionProvider moves it out of the address bar).
  const session = sessionFor(tokenInFragment() ?? storedToken());
  if (session.status !== 'signed-in') return;
  prefetch(session.token, {
    operationName: 'ConsoleViewer',
    query: queryText(ViewerQuery),
    variables: {},
  });
  if (/^\/console\/?$/.test(window.location.pathname)) {
    prefetch(session.token, {
      operationName: 'ConsoleOverview',
      query: queryText(OverviewQuery),
      variables: overviewVariables(),
    });
  }
}
