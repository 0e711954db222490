/** The most providers one page of `providers` returns (src/shared/pagination.ts). */
export const OVERVIEW_PAGE = 100;

function startOfToday(): string {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
}

/** The Overview query's variables: its first page, and today's spend since local midnight. */
export function overviewVariables(): { first: number; today: string } {
  return { first: OVERVIEW_PAGE, today: startOfToday() };
}
