import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { StoredRecord } from './chain.js';
import { chainRecords, recordHash } from './chain.js';
import { keyId, signCheckpoint, signNextCheckpoint } from './checkpoint.js';
import { indexColumns } from './event.js';
import type { AuditEventBody } from './event.js';
import { ChainVerifier } from './verify.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const trusted = new Map([[keyId(publicKey), publicKey]]);
const STORE = 'store-1';

function chain(n: number): StoredRecord[] {
  return chainRecords(
    null,
    Array.from({ length: n }, (_, i) => {
      const event: AuditEventBody = { type: 'gateway.stop', reason: `r${i}` };
      return {
        ts: `2026-11-21T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
        columns: indexColumns(event),
        body: JSON.stringify(event),
      };
    }),
  );
}

function verify(records: readonly StoredRecord[], checkpointAt: number[] = []) {
  const source = chain(Math.max(0, ...checkpointAt));
  const checkpoints = checkpointAt.map((seq) =>
    signCheckpoint(STORE, { seq, hash: (source[seq - 1] as StoredRecord).hash }, privateKey),
  );
  const v = new ChainVerifier({ storeId: STORE, checkpoints, trustedKeys: trusted });
  for (const r of records) if (!v.push(r)) break;
  return v.finish();
}

describe('ChainVerifier (pure, over an exported order)', () => {
  test('a clean chain verifies, with the records after the last checkpoint counted as unanchored', () => {
    expect(verify(chain(10), [6])).toMatchObject({ ok: true, records: 10, unanchored: 4 });
  });

  test('two lines swapped in an export → reordered', () => {
    const c = chain(8);
    const swapped = [...c.slice(0, 4), c[5], c[4], ...c.slice(6)] as StoredRecord[];
    expect(verify(swapped).problem).toMatchObject({ kind: 'reordered', seq: 5 });
  });

  test('a line duplicated in an export → inserted', () => {
    const c = chain(8);
    const dup = [...c.slice(0, 5), c[2], ...c.slice(5)] as StoredRecord[];
    expect(verify(dup).problem).toMatchObject({ kind: 'inserted', seq: 3 });
  });

  test('the first lines removed without a signed anchor → deleted from record 1', () => {
    expect(verify(chain(8).slice(3)).problem).toMatchObject({ kind: 'deleted', seq: 1 });
  });

  test('property: any single edit, deletion, duplication, swap or truncation before a checkpoint is found', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 40 }),
        fc.constantFrom('edit', 'delete', 'duplicate', 'swap', 'truncate', 'relink'),
        fc.nat(),
        (n, op, pick) => {
          const records = chain(n);
          const i = pick % n;
          const j = Math.min(n - 1, i + 1);
          let tampered: StoredRecord[] = [...records];
          const at = records[i] as StoredRecord;
          if (op === 'edit') tampered[i] = { ...at, body: `${at.body} ` };
          if (op === 'delete') tampered.splice(i, 1);
          if (op === 'duplicate') tampered.splice(i, 0, at);
          if (op === 'swap') {
            if (i === j) return;
            tampered[i] = records[j] as StoredRecord;
            tampered[j] = at;
          }
          if (op === 'truncate') tampered = tampered.slice(0, i);
          if (op === 'relink') {
            const forged = { ...at, body: '{"forged":true}' };
            tampered[i] = { ...forged, hash: recordHash(forged) };
          }
          const report = verify(tampered, [n]);
          expect(report.ok).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('ChainVerifier.pushRaw (the fast path over database rows)', () => {
  const raw = (r: StoredRecord) => [
    r.seq,
    r.ts,
    r.prev,
    r.hash,
    r.columns.type,
    r.columns.server,
    r.columns.target,
    r.columns.decision,
    r.columns.outcome,
    r.columns.thread_id,
    r.columns.actor,
    r.columns.call_id,
    r.body,
  ];
  test('property: reports exactly what push reports, clean or tampered', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 30 }),
        fc.constantFrom('none', 'edit', 'delete', 'duplicate', 'swap', 'truncate', 'relink'),
        fc.nat(),
        fc.constantFrom<number[]>([], [2], [5, 10]),
        (n, op, pick, cps) => {
          const records = chain(n);
          const i = pick % n;
          let tampered: StoredRecord[] = [...records];
          const at = records[i] as StoredRecord;
          if (op === 'edit') tampered[i] = { ...at, body: `${at.body} ` };
          if (op === 'delete') tampered.splice(i, 1);
          if (op === 'duplicate') tampered.splice(i, 0, at);
          if (op === 'swap' && i + 1 < n) {
            tampered[i] = records[i + 1] as StoredRecord;
            tampered[i + 1] = at;
          }
          if (op === 'truncate') tampered = tampered.slice(0, i);
          if (op === 'relink') {
            const forged = { ...at, body: '{"forged":true}' };
            tampered[i] = { ...forged, hash: recordHash(forged) };
          }
          const checkpoints = cps
            .filter((seq) => seq <= n)
            .map((seq) =>
              signCheckpoint(
                STORE,
                { seq, hash: (records[seq - 1] as StoredRecord).hash },
                privateKey,
              ),
            );
          const viaObjects = new ChainVerifier({
            storeId: STORE,
            checkpoints,
            trustedKeys: trusted,
          });
          for (const r of tampered) if (!viaObjects.push(r)) break;
          const viaRows = new ChainVerifier({ storeId: STORE, checkpoints, trustedKeys: trusted });
          for (const r of tampered) if (!viaRows.pushRaw(raw(r))) break;
          expect(viaRows.finish()).toEqual(viaObjects.finish());
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe('format 2: the chain of checkpoints and the content checks', () => {
  const scope = { format: 2 as const, storeId: STORE };
  const events = (bodies: { type: string; call_id?: string; gateway: { instance: string } }[]) =>
    chainRecords(
      null,
      bodies.map((b) => ({
        ts: '2026-11-21T00:00:00.000Z',
        columns: {
          ...indexColumns({ type: 'gateway.stop', reason: '' }),
          type: b.type,
          call_id: b.call_id ?? null,
        },
        body: JSON.stringify({ ...b, v: 2 }),
      })),
      scope,
    );

  function signChain(records: readonly StoredRecord[], at: number[]) {
    const out: ReturnType<typeof signNextCheckpoint>[] = [];
    for (const seq of at) {
      const r = records[seq - 1] as StoredRecord;
      out.push(signNextCheckpoint(STORE, r, out[out.length - 1] ?? null, 'periodic', privateKey));
    }
    return out;
  }

  function run(records: readonly StoredRecord[], checkpoints: ReturnType<typeof signChain>) {
    const v = new ChainVerifier({ storeId: STORE, format: 2, checkpoints, trustedKeys: trusted });
    for (const r of records) if (!v.push(r)) break;
    return v.finish();
  }

  const stops = (n: number) =>
    events(
      Array.from({ length: n }, () => ({ type: 'gateway.stop', gateway: { instance: 'g1' } })),
    );

  test('a checkpoint taken out of the middle of the chain of checkpoints → deleted', () => {
    const records = stops(9);
    const cps = signChain(records, [3, 6, 9]);
    expect(run(records, cps)).toMatchObject({ ok: true, complete: true });
    expect(run(records, [cps[0], cps[2]] as typeof cps).problem?.message).toContain(
      'signed checkpoint 2 is missing (deleted)',
    );
  });

  test('a format 1 hash in a format 2 store does not verify (no downgrade)', () => {
    const legacy = chain(4);
    expect(run(legacy, []).problem).toMatchObject({ kind: 'modified', seq: 1 });
  });

  test('an intent without result: in a session that ended → lost; with no stop record → crashed or running', () => {
    const records = events([
      { type: 'call.intent', call_id: 'a', gateway: { instance: 'g1' } },
      { type: 'call.intent', call_id: 'b', gateway: { instance: 'g1' } },
      { type: 'call.result', call_id: 'a', gateway: { instance: 'g1' } },
      { type: 'call.intent', call_id: 'c', gateway: { instance: 'g2' } },
      { type: 'gateway.stop', gateway: { instance: 'g1' } },
    ]);
    const report = run(records, signChain(records, [5]));
    expect(report).toMatchObject({ ok: true, complete: false });
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ kind: 'intent_without_result', seq: 2 });
    expect(report.findings[0]?.message).toMatch(
      /2 call\(s\).*1 in sessions that ended .*record\(s\) 2;.*1 in sessions with no stop record .*record\(s\) 4/,
    );
  });
});
