import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadOrCreateAuditKeys } from '../../src/audit/keys.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { runAuditTail } from '../../src/cli/commands/audit.js';
import { tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

/** A GATEHOUSE_HOME whose store holds `n` state-change records for server `s<i % 3>`. */
async function home(n: number): Promise<{ home: string; writer: AuditWriter }> {
  const dir = tempDir();
  const keys = loadOrCreateAuditKeys(dir);
  const writer = new AuditWriter(SqliteAuditStore.open(join(dir, 'audit.db')), {
    signingKey: keys.signing,
    checkpointEverySeconds: 0,
  });
  for (let i = 0; i < n; i++) {
    await writer.record({
      type: 'server.state',
      server: `s${i % 3}`,
      state: 'ready',
      detail: null,
      thread_id: `t${i}`,
      parent_thread_id: null,
    });
  }
  return { home: dir, writer };
}

describe('gatehouse audit: reading commands', () => {
  test('tail shows the last N as a table; -f prints records as they are written', async () => {
    const { home: dir, writer } = await home(5);
    const out: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(`ERR ${t}`),
      isTTY: false,
      env: { ...process.env, GATEHOUSE_HOME: dir },
      cwd: process.cwd(),
    };
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const tail = runAuditTail(
      { config: [], mcpJson: [], requirements: [] },
      { lines: '2', follow: true },
      io,
      stopped,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(out.join('')).toMatch(/^SEQ\s+TIME\s+TYPE/);
    expect(out.join('').trim().split('\n')).toHaveLength(3);
    await writer.record({ type: 'gateway.stop', reason: 'late' });
    for (let i = 0; i < 40 && !out.join('').includes('gateway.stop'); i++)
      await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(await tail).toBe(0);
    expect(out.join('')).toMatch(/\n6\s+\S+\s+gateway\.stop/);
    await writer.close();
  });

  test('stats, key, and prune behind a signed anchor (the rest still verifies)', async () => {
    const { home: dir, writer } = await home(9);
    await writer.close();
    const env = { GATEHOUSE_HOME: dir };
    const stats = JSON.parse((await cli(['audit', 'stats', '--json'], env)).stdout) as {
      records: number;
      byType: Record<string, number>;
    };
    expect(stats).toMatchObject({ records: 9, byType: { 'server.state': 9 } });
    const key = await cli(['audit', 'key'], env);
    expect(key.stdout).toContain('-----BEGIN PUBLIC KEY-----');
    const pruned = await cli(['audit', 'prune', '--before', '2999-01-01', '--json'], env);
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ removed: 8, anchor: { seq: 8 } });
    const verify = JSON.parse((await cli(['audit', 'verify', '--json'], env)).stdout) as Record<
      string,
      unknown
    >;
    expect(verify).toMatchObject({ ok: true, first_seq: 9, pruned_before: 9, records: 2 });
    const left = JSON.parse((await cli(['audit', 'query', '--json'], env)).stdout) as {
      event: { type: string };
    }[];
    expect(left.map((r) => r.event.type)).toEqual(['server.state', 'audit.pruned']);
  });

  test('verify trusts another machine only with its public key', async () => {
    const { home: writerHome, writer } = await home(3);
    await writer.close();
    const auditor = tempDir();
    const store = join(writerHome, 'audit.db');
    const untrusted = await cli(['--audit', store, 'audit', 'verify', '--json'], {
      GATEHOUSE_HOME: auditor,
    });
    expect(untrusted.code).toBe(9);
    expect(JSON.parse(untrusted.stdout).problem.kind).toBe('untrusted_key');
    const pem = (await cli(['audit', 'key'], { GATEHOUSE_HOME: writerHome })).stdout;
    const keyFile = join(writeFiles({ 'writer.pem': pem }), 'writer.pem');
    const trusted = await cli(['--audit', store, 'audit', 'verify', '--public-key', keyFile], {
      GATEHOUSE_HOME: auditor,
    });
    expect(trusted.code).toBe(0);
  });

  test('bad input: clear errors and stable exit codes', async () => {
    const { home: dir, writer } = await home(1);
    await writer.close();
    const env = { GATEHOUSE_HOME: dir };
    const since = await cli(['audit', 'query', '--since', 'yesterday-ish'], env);
    expect([since.code, since.stderr]).toEqual([
      2,
      expect.stringContaining('--since yesterday-ish: expected an ISO date/time'),
    ]);
    const key = await cli(['audit', 'verify', '--public-key', '/nonexistent.pem'], env);
    expect([key.code, key.stderr]).toEqual([
      2,
      expect.stringContaining('/nonexistent.pem: not a PEM public key'),
    ]);
    const none = await cli(['audit', 'tail'], { GATEHOUSE_HOME: tempDir() });
    expect([none.code, none.stderr]).toEqual([
      6,
      expect.stringContaining('no audit store here yet'),
    ]);
    const file = join(writeFiles({ 'x.jsonl': '{"kind":"something else"}\n' }), 'x.jsonl');
    const exported = await cli(['audit', 'verify', '--from-export', file], env);
    expect([exported.code, exported.stderr]).toEqual([
      9,
      expect.stringContaining('x.jsonl:1: not a Gatehouse audit export'),
    ]);
    const format = await cli(['audit', 'export', '--format', 'csv'], env);
    expect(format.code).toBe(2);
  });
});
