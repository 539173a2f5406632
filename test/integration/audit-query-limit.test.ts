import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadOrCreateAuditKeys } from '../../src/audit/keys.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

async function storeWithThreads(n: number): Promise<string> {
  const dir = tempDir();
  const keys = loadOrCreateAuditKeys(dir);
  const writer = new AuditWriter(SqliteAuditStore.open(join(dir, 'audit.db')), {
    signingKey: keys.signing,
    checkpointEverySeconds: 0,
  });
  for (let i = 0; i < n; i++)
    await writer.record({
      type: 'server.state',
      server: 's',
      state: 'ready',
      detail: null,
      thread_id: `t${i}`,
      parent_thread_id: null,
    });
  await writer.close();
  return dir;
}

const threads = (json: string) =>
  (JSON.parse(json) as { event: { thread_id: string } }[]).map((r) => r.event.thread_id);

describe('audit query --limit', () => {
  test('the N most recent matches, shown oldest first; --oldest keeps the N earliest', async () => {
    const home = await storeWithThreads(6);
    const newest = await cli(
      ['audit', 'query', '--type', 'server.state', '--limit', '2', '--json'],
      {
        GATEHOUSE_HOME: home,
      },
    );
    expect(newest.code).toBe(0);
    expect(threads(newest.stdout)).toEqual(['t4', 't5']);
    const oldest = await cli(
      ['audit', 'query', '--type', 'server.state', '--limit', '2', '--oldest', '--json'],
      { GATEHOUSE_HOME: home },
    );
    expect(threads(oldest.stdout)).toEqual(['t0', 't1']);
  });
});
