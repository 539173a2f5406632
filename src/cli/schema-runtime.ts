import { maskTokens } from '../masking/mask-text.js';
import type { DriftReport, SchemaGuardFactory } from '../gateway/schema-guard.js';
import { SchemaGuard } from '../gateway/schema-guard.js';
import { schemaPolicyOf } from '../requirements/parse-schema-table.js';
import { locateLock, WatchedLock } from '../schema/lock-store.js';
import type { AuditRuntime } from './audit-runtime.js';
import type { CliIo } from './io.js';
import type { GlobalOptions, World } from './world.js';
import { resolve } from 'node:path';

const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/**
 * `gatehouse … schema approve` with the flags this gateway was started with, so the command in
 * a refusal finds the same servers and lock when pasted.
 */
export function approveCommandPrefix(
  global: GlobalOptions,
  cwd: string,
  lockFile: string | null,
): string {
  const words = ['gatehouse'];
  for (const f of global.config) words.push('--config', resolve(cwd, f));
  for (const f of global.mcpJson) words.push('--mcp-json', resolve(cwd, f));
  if (typeof global.codexHome === 'string' && global.codexHome !== '')
    words.push(`--codex-home=${resolve(cwd, global.codexHome)}`);
  else if (global.codexHome === true) words.push('--codex-home');
  for (const f of global.requirements) words.push('--requirements', resolve(cwd, f));
  if (lockFile) words.push('--lock', lockFile);
  return [...words.map(shellWord), 'schema', 'approve'].join(' ');
}

/**
 * The schema lock for a gateway process: which file (the admin's `lock_path` wins over `--lock`),
 * the admin's drift rules, and where drift is reported (stderr line + audit record). An
 * unreadable lock is announced at start and blocks every tool (fail closed).
 */
export function schemaGuards(
  world: World,
  io: CliIo,
  global: GlobalOptions,
  audit: AuditRuntime,
): SchemaGuardFactory {
  const location = locateLock(world.requirements.requirements.schema, global.lock, io.env, io.cwd);
  const line = (o: object) => io.stderr(`${JSON.stringify(o)}\n`);
  if (location.overridden)
    line({
      event: 'schema_warning',
      detail: `the requirements fix the schema lock to ${location.file}; --lock ${location.overridden} is ignored`,
    });
  const lock = new WatchedLock(location);
  const initial = lock.current();
  if (initial.status === 'error')
    line({ event: 'schema_lock_error', lock: location.file, detail: maskTokens(initial.message) });
  const policy = schemaPolicyOf(world.requirements.requirements.schema);
  // The admin's lock_path is found again without a flag; the user's choice must be repeated.
  const approvePrefix = approveCommandPrefix(
    global,
    io.cwd,
    world.requirements.requirements.schema.lockPath ? null : location.file,
  );
  const onDrift = (r: DriftReport) => {
    line({
      event: 'schema_drift',
      server: r.server,
      tool: r.tool,
      action: r.verdict.action,
      detail: maskTokens(r.verdict.reason),
      approve: r.verdict.approveCommand,
    });
    audit.evidence({
      type: 'schema.drift',
      server: r.server,
      kind: 'tool',
      name: r.tool,
      action: r.verdict.action,
      reason: maskTokens(r.verdict.reason),
      lock: r.lockFile,
      locked_sha256: r.verdict.lockedSha256,
      live_sha256: r.verdict.liveSha256,
      changes: r.verdict.changes.map((c) => ({
        class: c.class,
        summary: maskTokens(c.summary),
        path: c.path,
      })),
      approve_command: r.verdict.approveCommand,
    });
  };
  return () =>
    new SchemaGuard({
      lock: () => lock.current(),
      policy,
      approvePrefix,
      env: io.env,
      cwd: io.cwd,
      onDrift,
    });
}
