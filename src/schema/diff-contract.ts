/**
 * What changed in what servers offer, classified for a person (changelog) and for the gateway
 * (enforcement): breaking, widening, risky or cosmetic. Pure: compares two locks, or a lock and a
 * fresh snapshot (which has the same shape).
 */
import type { ChangeClass, SchemaFinding } from './diff-json-schema.js';
import { CHANGE_CLASSES, diffJsonSchema } from './diff-json-schema.js';
import { sameJson, sameText } from './json-values.js';
import type { ContractKind, LockedItem, Lockfile, LockedServer, ServerFacts } from './lockfile.js';
import { CONTRACT_KINDS, SECTION } from './lockfile.js';

export type { ChangeClass } from './diff-json-schema.js';

export type ChangeKind = ContractKind | 'server';

/** One classified change (the `--format json` shape, docs/cli.md). */
export interface SchemaChange {
  server: string;
  kind: ChangeKind;
  /** The item's name (the server's name for server-level changes). */
  name: string;
  class: ChangeClass;
  summary: string;
  /** Where inside the item, e.g. `inputSchema/properties/path`; '' for the item as a whole. */
  path: string;
  before?: unknown;
  after?: unknown;
  /** The item's hashes before and after (null when it did not exist). */
  sha256_before: string | null;
  sha256_after: string | null;
}

const rank = (c: ChangeClass) => CHANGE_CLASSES.indexOf(c);

/** Most severe first, then by server, kind and name: the order of every report. */
export function sortChanges(changes: readonly SchemaChange[]): SchemaChange[] {
  const kindOrder: ChangeKind[] = ['server', ...CONTRACT_KINDS];
  return [...changes].sort(
    (a, b) =>
      rank(a.class) - rank(b.class) ||
      a.server.localeCompare(b.server) ||
      kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) ||
      a.name.localeCompare(b.name),
  );
}

/** The most severe class among changes, or null when there are none. */
export function worstClass(changes: readonly { class: ChangeClass }[]): ChangeClass | null {
  let worst: ChangeClass | null = null;
  for (const c of changes) if (worst === null || rank(c.class) < rank(worst)) worst = c.class;
  return worst;
}

const KIND_LABEL: Record<ContractKind, string> = {
  tool: 'tool',
  prompt: 'prompt',
  resource_template: 'resource template',
};

/**
 * Title and description: the text the model reads. Whitespace-only is cosmetic; anything else
 * is risky (a possible instruction injection a person should read).
 */
function textFindings(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  what: string,
): SchemaFinding[] {
  const out: SchemaFinding[] = [];
  for (const key of ['title', 'description'] as const) {
    if (sameJson(before[key], after[key])) continue;
    const cosmetic = sameText(before[key], after[key]);
    const change =
      before[key] === undefined ? 'added' : after[key] === undefined ? 'removed' : 'changed';
    out.push({
      class: cosmetic ? 'cosmetic' : 'risky',
      path: key,
      summary: cosmetic ? `${key} whitespace changed` : `${key} ${change} (${what})`,
      before: before[key],
      after: after[key],
    });
  }
  return out;
}

function findingsForTool(before: Record<string, unknown>, after: Record<string, unknown>) {
  const out: SchemaFinding[] = textFindings(
    before,
    after,
    'text the model reads: possible instruction injection, review it',
  );
  out.push(...annotationFindings(before.annotations, after.annotations));
  if (!sameJson(before.inputSchema, after.inputSchema))
    out.push(...diffJsonSchema(before.inputSchema, after.inputSchema, 'input', 'inputSchema'));
  const bo = before.outputSchema;
  const ao = after.outputSchema;
  if (bo === undefined && ao !== undefined)
    out.push({
      class: 'widening',
      path: 'outputSchema',
      summary: 'output schema added',
      after: ao,
    });
  else if (bo !== undefined && ao === undefined)
    out.push({
      class: 'breaking',
      path: 'outputSchema',
      summary: 'output schema removed (structured output no longer promised)',
      before: bo,
    });
  else if (!sameJson(bo, ao)) out.push(...diffJsonSchema(bo, ao, 'output', 'outputSchema'));
  return out;
}

function annotationFindings(before: unknown, after: unknown): SchemaFinding[] {
  if (sameJson(before, after)) return [];
  const asRecord = (v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const b = asRecord(before);
  const a = asRecord(after);
  const out: SchemaFinding[] = [];
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (sameJson(b[key], a[key])) continue;
    const summary =
      b[key] === undefined
        ? `annotation ${key} appears (${JSON.stringify(a[key])})`
        : a[key] === undefined
          ? `annotation ${key} removed (was ${JSON.stringify(b[key])})`
          : `annotation ${key}: ${JSON.stringify(b[key])} → ${JSON.stringify(a[key])}`;
    out.push({
      class: 'risky',
      path: `annotations/${key}`,
      summary,
      before: b[key],
      after: a[key],
    });
  }
  if (out.length === 0)
    out.push({
      class: 'risky',
      path: 'annotations',
      summary: 'annotations changed',
      before,
      after,
    });
  return out;
}

function argumentList(v: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (!Array.isArray(v)) return out;
  for (const arg of v)
    if (
      typeof arg === 'object' &&
      arg !== null &&
      typeof (arg as { name?: unknown }).name === 'string'
    )
      out.set((arg as { name: string }).name, arg as Record<string, unknown>);
  return out;
}

function findingsForPrompt(before: Record<string, unknown>, after: Record<string, unknown>) {
  const out: SchemaFinding[] = textFindings(before, after, 'text the model reads: review it');
  const ba = argumentList(before.arguments);
  const aa = argumentList(after.arguments);
  for (const [name, arg] of ba) {
    const next = aa.get(name);
    if (!next) {
      out.push({
        class: 'breaking',
        path: `arguments/${name}`,
        summary: `argument \`${name}\` removed`,
        before: arg,
      });
      continue;
    }
    if (next.required === true && arg.required !== true)
      out.push({
        class: 'breaking',
        path: `arguments/${name}`,
        summary: `argument \`${name}\` became required`,
      });
    if (next.required !== true && arg.required === true)
      out.push({
        class: 'widening',
        path: `arguments/${name}`,
        summary: `argument \`${name}\` became optional`,
      });
    for (const key of ['title', 'description'] as const)
      if (!sameJson(arg[key], next[key]))
        out.push({
          class: sameText(arg[key], next[key]) ? 'cosmetic' : 'risky',
          path: `arguments/${name}/${key}`,
          summary: `argument \`${name}\` ${key} changed`,
          before: arg[key],
          after: next[key],
        });
  }
  for (const [name, arg] of aa) {
    if (ba.has(name)) continue;
    out.push(
      arg.required === true
        ? {
            class: 'breaking',
            path: `arguments/${name}`,
            summary: `required argument \`${name}\` added`,
            after: arg,
          }
        : {
            class: 'widening',
            path: `arguments/${name}`,
            summary: `optional argument \`${name}\` added`,
            after: arg,
          },
    );
  }
  return out;
}

function findingsForTemplate(before: Record<string, unknown>, after: Record<string, unknown>) {
  const out: SchemaFinding[] = [];
  if (!sameJson(before.uriTemplate, after.uriTemplate))
    out.push({
      class: 'breaking',
      path: 'uriTemplate',
      summary: `URI template changed (${String(before.uriTemplate)} → ${String(after.uriTemplate)})`,
      before: before.uriTemplate,
      after: after.uriTemplate,
    });
  if (!sameJson(before.mimeType, after.mimeType))
    out.push({
      class: 'breaking',
      path: 'mimeType',
      summary: `MIME type changed (${String(before.mimeType ?? 'none')} → ${String(after.mimeType ?? 'none')})`,
      before: before.mimeType,
      after: after.mimeType,
    });
  for (const key of ['title', 'description'] as const)
    if (!sameJson(before[key], after[key]))
      out.push({
        class: sameText(before[key], after[key]) ? 'cosmetic' : 'risky',
        path: key,
        summary: `${key} changed`,
        before: before[key],
        after: after[key],
      });
  out.push(...annotationFindings(before.annotations, after.annotations));
  return out;
}

const FINDERS: Record<
  ContractKind,
  (b: Record<string, unknown>, a: Record<string, unknown>) => SchemaFinding[]
> = { tool: findingsForTool, prompt: findingsForPrompt, resource_template: findingsForTemplate };

/**
 * The changes of one item. Equal hashes mean nothing changed; a different hash with no semantic
 * finding is one cosmetic change (key order, the order of a set, whitespace, unused definitions).
 */
export function diffItem(
  server: string,
  kind: ContractKind,
  name: string,
  before: LockedItem | null,
  after: LockedItem | null,
): SchemaChange[] {
  const base = {
    server,
    kind,
    name,
    sha256_before: before?.sha256 ?? null,
    sha256_after: after?.sha256 ?? null,
  };
  if (!before && !after) return [];
  if (!after)
    return [
      { ...base, class: 'breaking', path: '', summary: `${KIND_LABEL[kind]} \`${name}\` removed` },
    ];
  if (!before)
    return [
      { ...base, class: 'widening', path: '', summary: `new ${KIND_LABEL[kind]} \`${name}\`` },
    ];
  if (before.sha256 === after.sha256) return [];
  const findings = FINDERS[kind](before.definition, after.definition);
  if (findings.length === 0)
    return [
      {
        ...base,
        class: 'cosmetic',
        path: '',
        summary: `${KIND_LABEL[kind]} \`${name}\`: ordering or whitespace only`,
      },
    ];
  return findings.map((f) => ({
    ...base,
    class: f.class,
    path: f.path,
    summary: `${KIND_LABEL[kind]} \`${name}\`: ${f.summary}`,
    ...(f.before !== undefined ? { before: f.before } : {}),
    ...(f.after !== undefined ? { after: f.after } : {}),
  }));
}

/** Changes to what a server is (transport, executable, package, serverInfo): all risky. */
export function diffServerFacts(
  server: string,
  before: ServerFacts,
  after: ServerFacts,
): SchemaChange[] {
  const out: SchemaChange[] = [];
  const change = (cls: ChangeClass, summary: string, path: string, b: unknown, a: unknown) =>
    out.push({
      server,
      kind: 'server',
      name: server,
      class: cls,
      path,
      summary,
      before: b,
      after: a,
      sha256_before: null,
      sha256_after: null,
    });
  if (!sameJson(before.identity, after.identity))
    change(
      'risky',
      `server \`${server}\`: transport identity changed (${describeIdentity(before)} → ${describeIdentity(after)})`,
      'identity',
      before.identity,
      after.identity,
    );
  // Compared at the same resolved path only: a lock shared across machines resolves `node` or
  // `npx` elsewhere, and an interpreter's hash says little about the server (its package does).
  // Unresolved on one side (a note instead of a hash) is not a change either.
  if (
    before.executable &&
    after.executable &&
    before.executable.path === after.executable.path &&
    before.executable.sha256 !== after.executable.sha256
  )
    change(
      'risky',
      `server \`${server}\`: executable ${after.executable.path} changed (sha256 ${before.executable.sha256.slice(0, 12)}… → ${after.executable.sha256.slice(0, 12)}…)`,
      'executable',
      before.executable,
      after.executable,
    );
  if (before.package && after.package && !sameJson(before.package, after.package))
    change(
      // A new version of the same package is a release; anything else (another package, or the
      // same version with other bytes) is not.
      before.package.name === after.package.name &&
        before.package.version !== after.package.version &&
        before.package.integrity !== after.package.integrity
        ? 'version'
        : 'risky',
      `server \`${server}\`: package ${before.package.name}@${before.package.version} → ${after.package.name}@${after.package.version}${before.package.integrity !== after.package.integrity && before.package.version === after.package.version ? ' (same version, different integrity!)' : ''}`,
      'package',
      before.package,
      after.package,
    );
  if (before.server_info && after.server_info && !sameJson(before.server_info, after.server_info))
    change(
      before.server_info.name === after.server_info.name ? 'version' : 'risky',
      `server \`${server}\`: serverInfo ${before.server_info.name} ${before.server_info.version} → ${after.server_info.name} ${after.server_info.version}`,
      'server_info',
      before.server_info,
      after.server_info,
    );
  if (
    before.protocol_version &&
    after.protocol_version &&
    before.protocol_version !== after.protocol_version
  )
    change(
      'cosmetic',
      `server \`${server}\`: protocol version ${before.protocol_version} → ${after.protocol_version}`,
      'protocol_version',
      before.protocol_version,
      after.protocol_version,
    );
  return out;
}

function describeIdentity(facts: ServerFacts): string {
  const id = facts.identity;
  return id.transport === 'stdio' ? [id.command, ...id.args].join(' ') : id.url;
}

/** Every change between two versions of one server's contract. */
export function diffServer(
  name: string,
  before: LockedServer | null,
  after: LockedServer | null,
): SchemaChange[] {
  if (!before && !after) return [];
  const base = {
    server: name,
    kind: 'server' as const,
    name,
    path: '',
    sha256_before: null,
    sha256_after: null,
  };
  if (!after) return [{ ...base, class: 'breaking', summary: `server \`${name}\` removed` }];
  if (!before) {
    const count = Object.keys(after.tools).length;
    return [
      {
        ...base,
        class: 'widening',
        summary: `new server \`${name}\` (${count} tool${count === 1 ? '' : 's'})`,
      },
    ];
  }
  const out = diffServerFacts(name, before, after);
  for (const kind of CONTRACT_KINDS) {
    const section = SECTION[kind];
    const names = new Set([...Object.keys(before[section]), ...Object.keys(after[section])]);
    for (const item of names)
      out.push(
        ...diffItem(name, kind, item, before[section][item] ?? null, after[section][item] ?? null),
      );
  }
  return out;
}

/** Every change between two locks (or a lock and a snapshot), most severe first. */
export function diffLocks(
  before: Lockfile,
  after: Lockfile,
  only?: ReadonlySet<string>,
): SchemaChange[] {
  const names = new Set([...Object.keys(before.servers), ...Object.keys(after.servers)]);
  const out: SchemaChange[] = [];
  for (const name of names) {
    if (only && !only.has(name)) continue;
    out.push(...diffServer(name, before.servers[name] ?? null, after.servers[name] ?? null));
  }
  return sortChanges(out);
}
