import { type ComponentType, lazy } from 'react';
import type { IconName } from '../components/icons.tsx';
// The landing page is in the main chunk: a lazy chunk would cost a second round trip before its
// query could even start (issue 17: Overview usable in under 1 s).
import OverviewPage from '../pages/overview/OverviewPage.tsx';

export interface PageRoute {
  /** Under /console/; `*` lets the page own its sub-routes (a detail page, tabs). */
  path: string;
  /** Where the nav link points (the path without `/*`). */
  to: string;
  label: string;
  icon: IconName;
  page: ComponentType;
}

/**
 * Every page of the console, in nav order. A page is a folder under pages/ whose default export
 * is loaded on first visit (except the Overview, the landing page, which is in the main chunk) (its code, and any chart library it uses, stay out of the initial JS).
 * To add one: make pages/<name>/<Name>Page.tsx and add a line here.
 */
export const ROUTES: PageRoute[] = [
  {
    path: '',
    to: '/',
    label: 'Overview',
    icon: 'overview',
    page: OverviewPage,
  },
  {
    path: 'providers/*',
    to: '/providers',
    label: 'Providers',
    icon: 'providers',
    page: lazy(() => import('../pages/providers/ProvidersPage.tsx')),
  },
  {
    path: 'clients/*',
    to: '/clients',
    label: 'Clients',
    icon: 'clients',
    page: lazy(() => import('../pages/clients/ClientsPage.tsx')),
  },
  {
    path: 'budgets/*',
    to: '/budgets',
    label: 'Budgets',
    icon: 'budgets',
    page: lazy(() => import('../pages/budgets/BudgetsPage.tsx')),
  },
  {
    path: 'usage/*',
    to: '/usage',
    label: 'Usage',
    icon: 'usage',
    page: lazy(() => import('../pages/usage/UsagePage.tsx')),
  },
  {
    path: 'jobs/*',
    to: '/jobs',
    label: 'Jobs',
    icon: 'jobs',
    page: lazy(() => import('../pages/jobs/JobsPage.tsx')),
  },
  {
    path: 'audit/*',
    to: '/audit',
    label: 'Audit log',
    icon: 'audit',
    page: lazy(() => import('../pages/audit/AuditPage.tsx')),
  },
  {
    path: 'sessions/*',
    to: '/sessions',
    label: 'Sessions',
    icon: 'sessions',
    page: lazy(() => import('../pages/sessions/SessionsPage.tsx')),
  },
  {
    path: 'configuration/*',
    to: '/configuration',
    label: 'Configuration',
    icon: 'configuration',
    page: lazy(() => import('../pages/configuration/ConfigurationPage.tsx')),
  },
];
