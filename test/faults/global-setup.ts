import type { TestProject } from 'vitest/node';
import { startPostgres } from './harness.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The fault suite's shared PostgreSQL (admin URL); scenarios create their own databases on it. */
    faultsPostgresUrl: string;
  }
}

/**
 * One PostgreSQL for the scenarios that do not break it (each gets its own database): an
 * initdb per scenario would cost more than some scenarios take. The PostgreSQL-outage scenario
 * starts its own.
 */
export default async function setup(project: TestProject) {
  const postgres = await startPostgres();
  project.provide('faultsPostgresUrl', postgres.url);
  return () => postgres.dispose();
}
