import pg from 'pg';

/** Runs one query against a database URL with a short-lived connection. */
export async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Every row of every table in the public schema, as text: what a pg_dump of the data would
 * contain. (The machine's pg_dump is older than the server, so it cannot be used directly.)
 */
export async function dumpDatabase(url: string): Promise<string> {
  const tables = await query<{ table_name: string }>(
    url,
    "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await query(url, `select * from "${table_name}"`);
    parts.push(`-- ${table_name}\n${rows.map((r) => JSON.stringify(r)).join('\n')}`);
  }
  return parts.join('\n');
}
