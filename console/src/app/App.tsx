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

/** Signed in: a GraphQL client for this token, the viewer, live events and the pages. */
function SignedIn({ token }: { token: string }) {
  const { signOut } = useSession();
  const [consoleClient, setConsoleClient] = useState<ConsoleClient | null>(null);
  // Made in an effect so that its WebSocket is closed when the session ends (or the token changes).
  useEffect(() => {
    const created = createConsoleClient(token, () => signOut('rejected'));
    setConsoleClient(created);
    return () => created.dispose();
  }, [token, signOut]);
  if (!consoleClient) return <Loading label="Signing in" />;
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
  if (session.status !== 'signed-in') return <SignInPage reason={session.reason} />;
  return <SignedIn key={session.token} token={session.token} />;
}
