import { join } from 'node:path';
import { safePostgresUrl } from './postgres-url.js';
import type { AuditStore } from './store.js';

/** `$GATEHOUSE_HOME/audit.db`: the embedded default. */
export function defaultAuditPath(home: string): string {
  return join(home, 'audit.db');
}

/** Where a store spec points, safe to print. */
export function describeAuditSpec(spec: string | undefined, home: string): string {
  if (spec === undefined || spec === '') return defaultAuditPath(home);
  return /^postgres(ql)?:\/\//i.test(spec) ? safePostgresUrl(spec) : spec.replace(/^sqlite:/, '');
}

/**
 * Opens the audit store a spec names: a `postgres://` URL, `sqlite:PATH` or a path; nothing =
 * the embedded default. The database drivers load only here (other commands never pay for them).
 */
export async function openAuditStore(
  spec: string | undefined,
  home: string,
  options: { mustExist?: boolean } = {},
): Promise<AuditStore> {
  if (spec && /^postgres(ql)?:\/\//i.test(spec)) {
    const { PostgresAuditStore } = await import('./postgres-store.js');
    return PostgresAuditStore.open(spec, options);
  }
  const { SqliteAuditStore } = await import('./sqlite-store.js');
  return SqliteAuditStore.open(
    spec ? spec.replace(/^sqlite:/, '') : defaultAuditPath(home),
    options,
  );
}
