import { prefetchFirstPage } from './boot/prefetch-first-page.ts';
import './styles/global.css';

/**
 * The entry is small on purpose: it sends the first page's queries (when signed in) and only then
 * loads the application, so that the server works on the data while the browser downloads and
 * runs React and the pages (issue 17: the Overview usable in under 1 s).
 */
prefetchFirstPage();
void import('./app/start.tsx').then((app) => app.start());
