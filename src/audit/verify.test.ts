import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { StoredRecord } from './chain.js';
import { chainRecords, recordHash } from './chain.js';
import { keyId, signCheckpoint } from './checkpoint.js';
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
