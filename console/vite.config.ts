import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { initialSizeReport, preloadApplication } from './build-report.ts';
import { graphqlDocuments } from './graphql-documents.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
/** `npm run dev:console` proxies GraphQL (HTTP and WebSocket) to this Tollgate. */
const target = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:4000';

export default defineConfig(({ command }) => {
  // A build is for production whatever NODE_ENV says (npm install under NODE_ENV=test, say):
  // Vite and the React plugin would otherwise emit React's development build.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return {
    root,
    base: '/console/',
    plugins: [graphqlDocuments(), react(), initialSizeReport(), preloadApplication()],
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      target: 'es2022',
      // No inline <script>/data: modules: the CSP allows scripts from 'self' only.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
    },
    server: {
      port: Number(process.env.CONSOLE_DEV_PORT ?? 5173),
      proxy: {
        '/graphql': {
          target,
          ws: true,
          changeOrigin: true,
          // Tollgate accepts browser requests and WebSockets from its own origin only; through this
          // proxy the browser's origin is Vite's, so the proxy speaks as Tollgate's own.
          configure: (proxy) => {
            proxy.on('proxyReq', (req) => req.setHeader('origin', new URL(target).origin));
            proxy.on('proxyReqWs', (req) => req.setHeader('origin', new URL(target).origin));
          },
        },
      },
    },
  };
});
