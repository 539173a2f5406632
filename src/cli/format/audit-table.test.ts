import { describe, expect, test } from 'vitest';
import type { StoredRecord } from '../../audit/chain.js';
import { auditTableRows, renderAuditTable } from './audit-table.js';

let seq = 0;
function record(
  type: string,
  body: Record<string, unknown>,
  server: string | null = null,
): StoredRecord {
  seq++;
  return {
    seq,
    ts: `2026-12-06T10:00:0${seq % 10}.000Z`,
    prev: '',
    hash: '',
    body: JSON.stringify({ type, ...body }),
    columns: {
      type,
      server,
      target: null,
      decision: null,
      outcome: null,
      thread_id: null,
      actor: null,
      call_id: null,
    },
  } as unknown as StoredRecord;
}

const gw = (instance: string) => ({ gateway: { instance, pid: 1, host: 'h' } });

describe('the audit table', () => {
  test('server.state shows the state and why; a failed server is readable without --json', () => {
    const rows = auditTableRows([
      record('server.state', { ...gw('a'), state: 'failed', detail: 'spawn ENOENT /opt/x' }, 'fs'),
    ]);
    expect(rows[0]?.[2]).toBe('server.state');
    expect(rows[0]?.[9]).toBe('failed: spawn ENOENT /opt/x');
  });

  test("a session's start and its servers' states are one row; other gateways' records are not folded in", () => {
    const records = [
      record('gateway.start', {
        ...gw('a'),
        mode: 'serve',
        transport: 'stdio',
        version: '0.1.0',
        servers: ['fs', 'gh'],
      }),
      record('server.state', { ...gw('a'), state: 'ready', detail: null }, 'fs'),
      record('server.state', { ...gw('a'), state: 'failed', detail: 'exit 1' }, 'gh'),
      record('server.state', { ...gw('b'), state: 'ready', detail: null }, 'other'),
      record('call.result', { ...gw('a'), error: null }, 'fs'),
    ];
    const rows = auditTableRows(records);
    expect(rows.map((r) => r[2])).toEqual(['session.start', 'server.state', 'call.result']);
    expect(rows[0]?.[0]).toBe(`${records[0]?.seq}-${records[2]?.seq}`);
    expect(rows[0]?.[9]).toContain('serve over stdio');
    expect(rows[0]?.[9]).toContain('fs ready');
    expect(rows[0]?.[9]).toContain('gh failed: exit 1');
    expect(rows[1]?.[3]).toBe('other');
  });

  test('server-controlled text cannot add rows or columns (newlines and control characters flattened)', () => {
    const text = renderAuditTable([
      record(
        'server.state',
        { ...gw('a'), state: 'failed', detail: 'boom\n999  2026  call.result  x\u001b[2J' },
        'fs',
      ),
    ]);
    expect(text.trim().split('\n')).toHaveLength(2);
    expect(text).not.toContain('\u001b');
  });

  test('long details are cut', () => {
    const rows = auditTableRows([record('gateway.stop', { ...gw('a'), reason: 'x'.repeat(500) })]);
    expect(rows[0]?.[9]?.length).toBeLessThanOrEqual(100);
  });
});
