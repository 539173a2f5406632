import { signCheckpoint, signNextCheckpoint } from '../../audit/checkpoint.js';
import { AuditKeyError, loadOrCreateAuditKeys } from '../../audit/keys.js';
import type { AuditEventBody } from '../../audit/event.js';
import { AUDIT_EVENT_VERSION, indexColumns } from '../../audit/event.js';
import { canonicalJson } from '../../audit/canonical-json.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import type { GlobalOptions } from '../world.js';
import { parseTimeBound, withStore } from './audit.js';

export function runAuditStats(
  global: GlobalOptions,
  opts: { json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  return withStore(global, io, async (store) => {
    const stats = await store.stats();
    if (opts.json) {
      io.stdout(
        `${JSON.stringify({ store: store.location, store_id: store.storeId, ...stats }, null, 2)}\n`,
      );
      return ExitCode.ok;
    }
    const lines = [
      `store       ${store.location} (${store.kind}, id ${store.storeId})`,
      `records     ${stats.records}${stats.first ? ` (seq ${stats.first.seq}..${stats.last?.seq}, ${stats.first.ts} .. ${stats.last?.ts})` : ''}`,
      `checkpoints ${stats.checkpoints}${stats.lastCheckpoint ? ` (last at record ${stats.lastCheckpoint.seq}, ${stats.lastCheckpoint.ts})` : ''}`,
      ...(stats.bytes !== null
        ? [`size        ${(stats.bytes / 1024 / 1024).toFixed(1)} MiB`]
        : []),
      'by type',
      ...Object.entries(stats.byType)
        .sort((a, b) => b[1] - a[1])
        .map(([type, n]) => `  ${type.padEnd(16)} ${n}`),
    ];
    io.stdout(`${lines.join('\n')}\n`);
    return ExitCode.ok;
  });
}

export function runAuditPrune(
  global: GlobalOptions,
  opts: { before?: string; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const before = opts.before ? parseTimeBound(opts.before) : null;
  if (!before) {
    io.stderr(
      `error: --before ${opts.before ?? '(missing)'}: expected an ISO date (2026-01-01) or an age like 400d\n`,
    );
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store, home) => {
    // The newest record always stays: it is the head the next record links to.
    const head = await store.head();
    const anchor = head ? await store.lastBefore(before, head.seq) : null;
    if (!anchor) {
      io.stdout(`nothing to prune: no records before ${before}\n`);
      return ExitCode.ok;
    }
    let keys;
    try {
      keys = loadOrCreateAuditKeys(home);
    } catch (err) {
      if (err instanceof AuditKeyError) {
        io.stderr(`error: ${err.message}\n`);
        return ExitCode.auditUnavailable;
      }
      throw err;
    }
    // The anchor first: a signed statement of the last pruned record's hash, which the first
    // record kept links to (format 2: a checkpoint of purpose `prune` in the chain of
    // checkpoints — no other checkpoint justifies missing first records). Then the delete, then
    // a record of the prune itself, and a checkpoint that covers that record.
    if (store.chainFormat === 2) {
      await store.appendCheckpoint((_head, last) =>
        signNextCheckpoint(store.storeId, anchor, last, 'prune', keys.signing),
      );
    } else {
      await store.addCheckpoint(signCheckpoint(store.storeId, anchor, keys.signing));
    }
    const removed = await store.prune(anchor.seq);
    const { hostname, userInfo } = await import('node:os');
    let by: string | null = null;
    try {
      by = userInfo().username;
    } catch {
      by = null;
    }
    const event: AuditEventBody = {
      type: 'audit.pruned',
      before,
      removed,
      anchor: { seq: anchor.seq, hash: anchor.hash },
      by,
    };
    const [record] = await store.append([
      {
        ts: new Date().toISOString(),
        columns: indexColumns(event),
        body: canonicalJson({
          v: AUDIT_EVENT_VERSION,
          gateway: { instance: 'cli', pid: process.pid, host: hostname() },
          ...event,
        }),
      },
    ]);
    if (store.chainFormat === 2) {
      await store.appendCheckpoint((head, last) =>
        head ? signNextCheckpoint(store.storeId, head, last, 'periodic', keys.signing) : null,
      );
    } else if (record) {
      await store.addCheckpoint(signCheckpoint(store.storeId, record, keys.signing));
    }
    const result = { before, removed, anchor, recorded_as: record?.seq ?? null };
    if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else
      io.stdout(
        `pruned ${removed} record(s) before ${before} (through record ${anchor.seq}); a signed checkpoint anchors the rest; recorded as record ${record?.seq}\n`,
      );
    return ExitCode.ok;
  });
}

export function runAuditKey(opts: { json?: boolean }, io: CliIo): ExitCodeValue {
  const home = defaultGatehouseHome(io.env);
  let keys;
  try {
    keys = loadOrCreateAuditKeys(home);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return ExitCode.auditUnavailable;
  }
  const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (opts.json) io.stdout(`${JSON.stringify({ key_id: keys.keyId, public_key: pem }, null, 2)}\n`);
  else
    io.stdout(
      `# audit signing key ${keys.keyId} (Ed25519); give this to auditors: --public-key FILE\n${pem}`,
    );
  return ExitCode.ok;
}
