import { useEffect, useState } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { Provider as UrqlProvider } from 'urql';
import { useSession } from '../auth/SessionProvider.tsx';
import { ViewerProvider } from '../auth/viewer.tsx';
import { Loading } from '../components/ui.tsx';
import { type ConsoleClient, createConsoleClient } from '../graphql/client.ts';
import { LiveEventsProvider } from '../graphql/live-events.tsx';
import NotFoundPage from '../pages/not-found/NotFoundPage.tsx';
import { SignInPage } from '../pages/sign-in/SignInPage.tsx';
import { ROUTES } from './routes.tsx';
import { Shell } from './Shell.tsx';

const router = createBrowserRouter(
  [
    {
      path: '/',
      element: <Shell />,
      children: [
        ...ROUTES.map((route) => ({
          ...(route.path === '' ? { index: true as const } : { path: route.path }),
          Component: route.page,
        })),
        { path: '*', Component: NotFoundPage },
      ],
    },
  ],
  { basename: '/console' },
);

/** Signed in: a GraphQL client for this session, the viewer, live events and the pages. */
function SignedIn() {
  const { signOut, currentToken } = useSession();
  // Made at the first render, so that the first page mounts (and sends its queries) in the same
  // pass rather than after an effect and a second render (issue 17: the Overview usable in 1 s).
  const [consoleClient, setConsoleClient] = useState<ConsoleClient>(() =>
    createConsoleClient(currentToken, () => signOut('rejected')),
  );
  // Its WebSocket is closed when the session ends (this component is keyed by the session). A
  // disposed client is replaced: React's development mode unmounts and mounts effects once more.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the client is made once per session, not per render
  useEffect(() => {
    let current = consoleClient;
    if (current.disposed) {
      current = createConsoleClient(currentToken, () => signOut('rejected'));
      setConsoleClient(current);
    }
    return () => current.dispose();
  }, [currentToken, signOut]);
  return (
    <UrqlProvider value={consoleClient.client}>
      <ViewerProvider>
        <LiveEventsProvider store={consoleClient.connection}>
          <RouterProvider router={router} />
        </LiveEventsProvider>
      </ViewerProvider>
    </UrqlProvider>
  );
}

/** Signed out, nothing but the sign-in page is rendered and no request is made. */
export function App() {
  const { session } = useSession();
  if (session.status === 'checking') return <Loading label="Checking your session" />;
  if (session.status !== 'signed-in') return <SignInPage reason={session.reason} sso={session.sso} />;
  // A pasted token is its own session; a single sign-on session keeps its client across renewals.
  const key =
    session.source === 'sso' ? `sso:${session.claims.subject}:${session.epoch ?? 0}` : session.token;
  return <SignedIn key={key} />;
}
