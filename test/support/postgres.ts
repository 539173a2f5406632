import pg from 'pg';

/** The PostgreSQL the tests use (127.0.0.1:5432, trust auth, database `test`, on these machines). */
export const PG_URL = process.env.GATEHOUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether PostgreSQL answers. Under CI it must: a missing server fails the run instead of
 * skipping its tests; elsewhere the tests are skipped with a visible notice.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    if (process.env.CI === 'true') {
      throw new Error(
        `PostgreSQL is not reachable at ${PG_URL}: under CI the PostgreSQL tests must run`,
      );
    }
    console.warn(`\n⚠ PostgreSQL not reachable at ${PG_URL}: its tests are SKIPPED\n`);
    return false;
  }
}

/** Drops test schemas (CASCADE). */
export async function dropSchemas(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of names) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
}
