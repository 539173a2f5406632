import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChainFormat, StoredRecord } from './chain.js';
import { canonicalJson } from './canonical-json.js';
import type { Checkpoint } from './checkpoint.js';
import type { IndexColumns } from './event.js';
import { COLUMN_NAMES } from './event.js';
import type { AuditStore } from './store.js';
import type { VerifyReport } from './verify.js';
import { ChainVerifier } from './verify.js';

/**
 * The JSONL export: one JSON object per line, for SIEMs and for `audit verify --from-export`.
 * Line 1 is a header (store id, time, the exporting machine's public key for reference), then
 * every checkpoint, then every record with its event as JSON. An export verifies on its own:
 * the hashes cover each record's columns and canonical event.
 */
export const EXPORT_KIND = 'gatehouse.audit.export';

export interface ExportHeader {
  kind: typeof EXPORT_KIND;
  version: 1;
  store_id: string;
  store: string;
  /** How records and checkpoints are hashed (chain.ts); absent in older exports: 1. */
  chain_format?: ChainFormat;
  exported_at: string;
  public_keys: Record<string, string>;
  /**
   * A continuation (`--after`/`--since`): only records after this seq; the first one's `prev`
   * is the hash of record `after_seq`, where the previous export ended.
   */
  after_seq?: number;
}

export async function* exportLines(
  store: AuditStore,
  publicKeys: ReadonlyMap<string, KeyObject>,
  afterSeq = 0,
): AsyncIterable<string> {
  const header: ExportHeader = {
    kind: EXPORT_KIND,
    version: 1,
    store_id: store.storeId,
    store: store.location,
    chain_format: store.chainFormat,
    exported_at: new Date().toISOString(),
    public_keys: Object.fromEntries(
      [...publicKeys].map(([id, key]) => [
        id,
        key.export({ type: 'spki', format: 'pem' }).toString(),
      ]),
    ),
    ...(afterSeq > 0 ? { after_seq: afterSeq } : {}),
  };
  yield JSON.stringify(header);
  for (const cp of await store.checkpoints()) yield JSON.stringify({ kind: 'checkpoint', ...cp });
  for await (const batch of store.records(afterSeq + 1)) {
    for (const r of batch) {
      yield `{"kind":"record","seq":${r.seq},"ts":${JSON.stringify(r.ts)},"prev":"${r.prev}","hash":"${r.hash}","columns":${JSON.stringify(r.columns)},"event":${r.body}}`;
    }
  }
}

/** A line of an export that cannot be read: names the file and line. */
export class ExportFormatError extends Error {}

function recordFromLine(value: Record<string, unknown>, where: string): StoredRecord {
  const columns = value.columns as Record<string, unknown> | undefined;
  if (
    typeof value.seq !== 'number' ||
    typeof value.ts !== 'string' ||
    typeof value.prev !== 'string' ||
    typeof value.hash !== 'string' ||
    !columns ||
    typeof value.event !== 'object'
  ) {
    throw new ExportFormatError(`${where}: a record needs seq, ts, prev, hash, columns and event`);
  }
  const picked = Object.fromEntries(
    COLUMN_NAMES.map((c) => [c, columns[c] ?? null]),
  ) as unknown as IndexColumns;
  let body: string;
  try {
    body = canonicalJson(value.event);
  } catch (err) {
    throw new ExportFormatError(`${where}: event is not JSON (${(err as Error).message})`);
  }
  return {
    seq: value.seq,
    ts: value.ts,
    prev: value.prev,
    hash: value.hash,
    columns: picked,
    body,
  };
}

/** Verifies an export file, streaming it line by line (checkpoints come before records). */
export async function verifyExport(
  file: string,
  trustedKeys: ReadonlyMap<string, KeyObject>,
): Promise<VerifyReport & { header: ExportHeader }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let header: ExportHeader | null = null;
  const checkpoints: Checkpoint[] = [];
  let verifier: ChainVerifier | null = null;
  let n = 0;
  try {
    for await (const line of lines) {
      n += 1;
      if (line.trim() === '') continue;
      const where = `${file}:${n}`;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new ExportFormatError(`${where}: not JSON (${(err as Error).message})`);
      }
      if (!header) {
        if (value.kind !== EXPORT_KIND)
          throw new ExportFormatError(
            `${where}: not a Gatehouse audit export (the first line is not its header)`,
          );
        header = value as unknown as ExportHeader;
        continue;
      }
      if (value.kind === 'checkpoint') {
        if (verifier)
          throw new ExportFormatError(
            `${where}: a checkpoint after the records (checkpoints come first)`,
          );
        checkpoints.push(value as unknown as Checkpoint);
        continue;
      }
      if (value.kind !== 'record')
        throw new ExportFormatError(`${where}: unknown line kind ${JSON.stringify(value.kind)}`);
      verifier ??= new ChainVerifier({
        storeId: header.store_id,
        format: header.chain_format === 2 ? 2 : 1,
        checkpoints,
        trustedKeys,
      });
      if (!verifier.push(recordFromLine(value, where))) break;
    }
  } catch (err) {
    if (err instanceof ExportFormatError) throw err;
    throw new ExportFormatError(`${file}: cannot read (${(err as Error).message})`);
  } finally {
    lines.close();
  }
  if (!header) throw new ExportFormatError(`${file}: empty, not a Gatehouse audit export`);
  verifier ??= new ChainVerifier({
    storeId: header.store_id,
    format: header.chain_format === 2 ? 2 : 1,
    checkpoints,
    trustedKeys,
  });
  return { ...verifier.finish(), header };
}
