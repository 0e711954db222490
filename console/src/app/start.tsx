import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionProvider } from '../auth/SessionProvider.tsx';
import { App } from './App.tsx';

/** Renders the application: called by the entry (main.tsx) once it has sent the first queries. */
export function start(): void {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <SessionProvider>
        <App />
      </SessionProvider>
    </StrictMode>,
  );
}
