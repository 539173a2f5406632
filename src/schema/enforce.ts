/**
 * What the gateway does with a live tool, given the lock and the admin's `[gatehouse_schema]`
 * settings. Pure. A lock that cannot be used blocks everything (fail closed); only a lock that
 * is absent where none was configured, with `lock = "optional"`, lets unlocked tools through.
 */
import type { ChangeClass, SchemaChange } from './diff-contract.js';
import { diffItem, diffServerFacts } from './diff-contract.js';
import type { LockedItem, Lockfile, ServerFacts } from './lockfile.js';
import { lockItem } from './lockfile.js';

export type DriftAction = 'block' | 'approve' | 'warn' | 'allow';
export const DRIFT_ACTIONS: readonly DriftAction[] = ['block', 'approve', 'warn', 'allow'];

/** The admin's `[gatehouse_schema]` rules, defaults filled in. */
export interface SchemaPolicy {
  /** `required`: tools (and servers) not in the lock are refused. */
  lock: 'required' | 'optional';
  onClass: Record<ChangeClass, DriftAction>;
}

export const DEFAULT_SCHEMA_POLICY: SchemaPolicy = {
  lock: 'optional',
  onClass: {
    breaking: 'block',
    risky: 'block',
    widening: 'warn',
    version: 'warn',
    cosmetic: 'allow',
  },
};

/** The lock as the gateway sees it. `error` and a configured-but-missing lock both block. */
export type LockState =
  | { status: 'loaded'; file: string; lock: Lockfile }
  | { status: 'absent'; file: string }
  | { status: 'error'; file: string; message: string };

export interface ToolVerdict {
  action: DriftAction;
  /** One line for the client, the audit trail and stderr; '' when nothing is to be said. */
  reason: string;
  changes: SchemaChange[];
  /** The command that accepts the live version, when approving would help. */
  approveCommand: string | null;
  lockedSha256: string | null;
  liveSha256: string;
}

const severity = (a: DriftAction) => DRIFT_ACTIONS.indexOf(a);

/** The stricter of two actions (block > approve > warn > allow). */
export function stricter(a: DriftAction, b: DriftAction): DriftAction {
  return severity(a) <= severity(b) ? a : b;
}

export interface VerdictInput {
  lock: LockState;
  policy: SchemaPolicy;
  server: string;
  /** The live server's facts; null when they are not known (then only items are compared). */
  facts: ServerFacts | null;
  tool: Record<string, unknown>;
  /** `gatehouse [--lock FILE] schema approve` with the right flags for this gateway. */
  approvePrefix: string;
}

/** The decision for one live tool against the lock. */
export function toolVerdict(input: VerdictInput): ToolVerdict {
  const name = typeof input.tool.name === 'string' ? input.tool.name : '';
  const { lock, policy, server } = input;
  let live: LockedItem;
  try {
    live = lockItem('tool', input.tool, null);
  } catch (err) {
    // Not hashable (nested deeper than canonical JSON allows): it cannot be compared, so it is blocked.
    return {
      action: 'block',
      reason: `its definition cannot be compared with the lock (${(err as Error).message})`,
      changes: [],
      approveCommand: null,
      lockedSha256: null,
      liveSha256: '',
    };
  }
  const base = { changes: [], lockedSha256: null, liveSha256: live.sha256 };
  const approveTool = `${input.approvePrefix} ${server}/${name}`;
  const approveServer = `${input.approvePrefix} ${server}`;
  if (lock.status === 'error')
    return {
      ...base,
      action: 'block',
      reason: `the schema lock ${lock.file} cannot be used, so no tool is allowed (fail closed): ${lock.message}`,
      approveCommand: null,
    };
  if (lock.status === 'absent')
    return policy.lock === 'required'
      ? {
          ...base,
          action: 'block',
          reason: `there is no schema lock at ${lock.file} and the requirements say lock = "required"`,
          approveCommand: approveServer,
        }
      : { ...base, action: 'allow', reason: '', approveCommand: null };
  const locked = lock.lock.servers[server];
  if (!locked)
    return policy.lock === 'required'
      ? {
          ...base,
          action: 'block',
          reason: `server '${server}' is not in the schema lock ${lock.file} (lock = "required")`,
          approveCommand: approveServer,
        }
      : { ...base, action: 'allow', reason: '', approveCommand: null };
  const lockedItem = locked.tools[name] ?? null;
  if (!lockedItem && policy.lock === 'required')
    return {
      ...base,
      action: 'block',
      reason: `tool '${name}' of server '${server}' is not in the schema lock ${lock.file} (lock = "required")`,
      approveCommand: approveTool,
    };
  const changes = [
    ...(input.facts ? diffServerFacts(server, locked, input.facts) : []),
    ...diffItem(server, 'tool', name, lockedItem, live),
  ];
  let action: DriftAction = 'allow';
  for (const c of changes) action = stricter(action, policy.onClass[c.class]);
  const first = changes.find((c) => policy.onClass[c.class] === action) ?? changes[0];
  const serverLevel = changes.some(
    (c) => c.kind === 'server' && policy.onClass[c.class] === action,
  );
  const more =
    changes.length > 1
      ? ` (+${changes.length - 1} more change${changes.length > 2 ? 's' : ''})`
      : '';
  return {
    changes,
    lockedSha256: lockedItem?.sha256 ?? null,
    liveSha256: live.sha256,
    action,
    reason: first ? `${first.class} change since it was locked: ${first.summary}${more}` : '',
    approveCommand: changes.length === 0 ? null : serverLevel ? approveServer : approveTool,
  };
}

/** The message a client gets for a call to a blocked tool. */
export function refusalMessage(server: string, tool: string, verdict: ToolVerdict): string {
  const fix = verdict.approveCommand
    ? ` If the change is expected, review it (\`gatehouse schema diff\`) and accept it: \`${verdict.approveCommand}\`.`
    : '';
  return `Gatehouse blocked ${server}/${tool}: ${verdict.reason}.${fix}`;
}
