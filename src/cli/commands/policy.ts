import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { canonicalJson } from '../../audit/canonical-json.js';
import { parseTomlDocument } from '../../config/toml-document.js';
import { readSourceFile } from '../../config/read-source.js';
import { formatLocation } from '../../diagnostics/diagnostic.js';
import { suggestKey } from '../../diagnostics/suggest.js';
import { probeServer } from '../../gateway/probe.js';
import type { ToolCallDecision } from '../../policy/decide-tool-call.js';
import { decideFor, outOfScope } from '../../pipeline/stages/policy.js';
import type { ScopeCaller } from '../../policy/scope.js';
import { NOBODY } from '../../policy/scope.js';
import { policySettingsFor } from '../policy-settings.js';
import type { ToolAnnotations, UserApprovalMode } from '../../policy/model.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';

const USER_MODES: readonly UserApprovalMode[] = ['auto', 'prompt', 'writes', 'approve'];

function parseJsonOption(name: string, raw: string | undefined, io: CliIo): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    io.stderr(
      `error: --${name} is not JSON (${(err as Error).message}); e.g. --${name} '{"readOnlyHint": true}'\n`,
    );
    return null;
  }
}

function annotationsFrom(value: unknown): ToolAnnotations | null | 'invalid' {
  if (value === undefined) return null;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'invalid';
  const out: ToolAnnotations = {};
  for (const [k, v] of Object.entries(value)) {
    if (
      !['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'].includes(k) ||
      typeof v !== 'boolean'
    )
      return 'invalid';
    out[k as keyof ToolAnnotations] = v;
  }
  return out;
}

/** The decision for one tool in the loaded world: the server's own disabled state comes first. */
export function decideInWorld(
  world: World,
  server: string,
  tool: string,
  annotations: ToolAnnotations | null,
  userOverride: UserApprovalMode | null = null,
  /** Who asks; null: nobody in particular (scopes not checked, rules with an audience skipped). */
  caller: ScopeCaller | null = null,
): ToolCallDecision {
  const decision = world.decisions.find((d) => d.server.name === server);
  const settings = policySettingsFor(world);
  const decided = decideFor(settings, server, tool, annotations, userOverride, caller ?? NOBODY);
  const scope = caller ? outOfScope(settings, server, tool, caller) : null;
  if (scope)
    return refused(
      decided,
      scope.rule,
      `scope: ${scope.reason} (the tool is hidden from this caller and refused as unknown)`,
    );
  if (decision && !decision.enabled) {
    const reason = decision.disabledReason;
    return refused(
      decided,
      `server '${server}' is disabled (${reason?.code ?? 'disabled'})`,
      reason?.detail ?? 'the server is disabled',
    );
  }
  return decided;
}

/** A decision turned into a refusal that no approval can lift. */
function refused(decided: ToolCallDecision, rule: string, reason: string): ToolCallDecision {
  return {
    ...decided,
    decision: 'deny',
    approval: 'none',
    level: 'never',
    sessionScope: false,
    rule,
    reason,
  };
}

export function decisionJson(d: ToolCallDecision): Record<string, unknown> {
  return {
    decision: d.decision,
    approval: d.approval,
    level: d.level,
    session_scope: d.sessionScope,
    effect: d.effect,
    effect_source: d.effectSource,
    category: d.category,
    rule: d.rule,
    reason: d.reason,
    policy_revision: d.policy_revision,
  };
}

/** What `--live` learnt: the tool's annotations as listed now, or why they are not known. */
async function liveAnnotations(
  world: World,
  server: string,
  tool: string,
  io: CliIo,
): Promise<{ annotations: ToolAnnotations | null; offered: boolean } | ExitCodeValue> {
  const decision = world.decisions.find((d) => d.server.name === server);
  if (!decision) return ExitCode.notFound;
  if (!decision.enabled) {
    io.stderr(
      `warning: --live: server '${server}' is disabled (${decision.disabledReason?.detail ?? 'disabled'}); it was not started\n`,
    );
    return { annotations: null, offered: false };
  }
  let listed: { name: string; annotations?: unknown }[] = [];
  const probe = await probeServer(decision.server, {
    env: io.env,
    inspect: async (_s, upstream) => {
      let cursor: string | undefined;
      do {
        const page = await upstream.client.listTools(cursor ? { cursor } : undefined);
        listed = [...listed, ...page.tools];
        cursor = page.nextCursor;
      } while (cursor);
    },
  });
  if (probe.state !== 'ready') {
    io.stderr(`error: --live: server '${server}' is ${probe.state}: ${probe.detail}\n`);
    return ExitCode.serverUnavailable;
  }
  const found = listed.find((t) => t.name === tool);
  if (!found) {
    const names = listed.map((t) => t.name);
    io.stderr(
      `warning: server '${server}' offers no tool named '${tool}'${suggestion(tool, names)} (it offers: ${names.join(', ') || 'none'})\n`,
    );
    return { annotations: null, offered: false };
  }
  const annotations = annotationsFrom(
    Object.fromEntries(
      Object.entries((found.annotations ?? {}) as Record<string, unknown>).filter(
        ([k, v]) =>
          ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'].includes(k) &&
          typeof v === 'boolean',
      ),
    ),
  );
  return { annotations: annotations === 'invalid' ? null : annotations, offered: true };
}

const PRINCIPAL = /^(user|service|os|token):\S+$/;
const GROUP = /^[^\s*?]+$/;

/**
 * `--as` / `--groups` (or a case's `as` / `groups`) as a scope caller; a string saying what is
 * wrong otherwise. Groups without a principal are allowed (a caller known only by its groups).
 */
export function callerFrom(as: unknown, groups: unknown): ScopeCaller | null | string {
  if (as === undefined && groups === undefined) return null;
  if (as !== undefined && (typeof as !== 'string' || !PRINCIPAL.test(as)))
    return `expected a principal user:SUBJECT, service:SUBJECT or os:USERNAME, got ${JSON.stringify(as)}`;
  const list =
    groups === undefined
      ? []
      : typeof groups === 'string'
        ? groups
            .split(',')
            .map((g) => g.trim())
            .filter((g) => g !== '')
        : groups;
  if (!Array.isArray(list) || list.some((g) => typeof g !== 'string' || !GROUP.test(g)))
    return `expected group names (no spaces, no globs), got ${JSON.stringify(groups)}`;
  return { principal: (as as string | undefined) ?? null, groups: list as string[] };
}

function suggestion(name: string, known: readonly string[]): string {
  const near = suggestKey(name, known);
  return near ? ` (did you mean '${near}'?)` : '';
}

export async function runPolicyExplain(
  global: GlobalOptions,
  opts: {
    server?: string;
    tool?: string;
    args?: string;
    annotations?: string;
    live?: boolean;
    json?: boolean;
    as?: string;
    groups?: string;
  },
  io: CliIo,
): Promise<ExitCodeValue> {
  const caller = callerFrom(opts.as, opts.groups);
  if (typeof caller === 'string') {
    io.stderr(`error: --as / --groups: ${caller}\n`);
    return ExitCode.usage;
  }
  if (!opts.server || !opts.tool) {
    io.stderr(
      'error: --server and --tool are both required, e.g. policy explain --server github --tool delete_repo\n',
    );
    return ExitCode.usage;
  }
  const args = parseJsonOption('args', opts.args, io);
  const rawAnnotations = parseJsonOption('annotations', opts.annotations, io);
  if (args === null || rawAnnotations === null) return ExitCode.usage;
  let annotations = annotationsFrom(rawAnnotations);
  if (annotations === 'invalid') {
    io.stderr(
      'error: --annotations must be an object of readOnlyHint / destructiveHint / idempotentHint / openWorldHint booleans\n',
    );
    return ExitCode.usage;
  }
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  reportLoadProblems(io, world);
  if (world.requirements.invalid) {
    io.stderr(
      'error: the requirements are invalid, so every server is disabled (fail closed): see `gatehouse requirements check`\n',
    );
    return ExitCode.requirementsInvalid;
  }
  const known = world.decisions.map((x) => x.server.name);
  if (!known.includes(opts.server)) {
    // Explaining a rule for a server not configured here is allowed (an admin writes policy for
    // a fleet), but a typo must not pass for "allowed".
    io.stderr(
      `warning: no server named '${opts.server}' is configured here${suggestion(opts.server, known)}; the decision below is what the rules say for that name\n`,
    );
  }
  let annotationSource: 'given' | 'live' | 'none' = annotations ? 'given' : 'none';
  if (opts.live) {
    if (opts.annotations !== undefined) {
      io.stderr('error: give either --annotations or --live, not both\n');
      return ExitCode.usage;
    }
    if (!known.includes(opts.server)) return ExitCode.notFound;
    const live = await liveAnnotations(world, opts.server, opts.tool, io);
    if (typeof live === 'number') return live;
    annotations = live.annotations;
    annotationSource = live.offered ? 'live' : 'none';
  }
  const d = decideInWorld(world, opts.server, opts.tool, annotations, null, caller);
  const argsHash =
    args === undefined ? null : createHash('sha256').update(canonicalJson(args)).digest('hex');
  if (opts.json) {
    io.stdout(
      `${JSON.stringify({ server: opts.server, tool: opts.tool, ...(caller ? { as: caller.principal, groups: caller.groups } : {}), ...decisionJson(d), annotations, annotations_source: annotationSource, arguments_sha256: argsHash }, null, 2)}\n`,
    );
    return ExitCode.ok;
  }
  const verdict =
    d.decision === 'allow'
      ? 'ALLOW'
      : d.decision === 'deny'
        ? 'DENY'
        : d.approval === 'two_person'
          ? 'APPROVAL by a second person'
          : `APPROVAL by the user${d.sessionScope ? ' (may cover the same call for the session)' : ' (every call)'}`;
  io.stdout(
    [
      `${opts.server}/${opts.tool}: ${verdict}`,
      ...(caller
        ? [
            `  as        ${caller.principal ?? '(no principal)'}${caller.groups.length > 0 ? ` (groups ${caller.groups.join(', ')})` : ''}`,
          ]
        : []),
      `  why       ${d.reason}`,
      `  rule      ${d.rule}`,
      `  effect    ${d.effect} (${d.effectSource === 'admin' ? "the admin's class" : d.effectSource === 'annotations' ? `from the server annotations${annotationSource === 'live' ? ' as it lists them now' : ' given'}` : 'no annotations given: treated as a side effect'})`,
      `  category  ${d.category ?? '-'}`,
      `  policy    ${d.policy_revision}`,
      ...(argsHash
        ? [`  args      sha256 ${argsHash} (an approval is bound to exactly these)`]
        : []),
      '',
    ].join('\n'),
  );
  return ExitCode.ok;
}

interface PolicyCase {
  name: string;
  server: string;
  tool: string;
  annotations: ToolAnnotations | null;
  userMode: UserApprovalMode | null;
  caller: ScopeCaller | null;
  expect: Record<string, unknown>;
  where: string;
}

const EXPECT_KEYS = ['decision', 'approval', 'level', 'effect', 'category', 'session_scope'];

/** `policy test CASES.toml`: admin-written expectations, checked against the effective policy. */
export function runPolicyTest(
  global: GlobalOptions,
  file: string,
  opts: { json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const path = resolve(io.cwd, file);
  const read = readSourceFile(path, 'policy test file');
  if (!read.ok) {
    io.stderr(`error: ${read.diagnostic.message}\n`);
    return ExitCode.usage;
  }
  const parsed = parseTomlDocument(read.text, path);
  if (!parsed.ok) {
    io.stderr(
      `error: ${formatLocation(parsed.diagnostic.location)}: ${parsed.diagnostic.message}\n`,
    );
    return ExitCode.usage;
  }
  const doc = parsed.doc;
  const raw = doc.value.case;
  const problems: string[] = [];
  const cases: PolicyCase[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    io.stderr(
      `error: ${path}: no [[case]] tables; each case has name, server, tool and expect = { decision = "allow" | "deny" | "approval", … }\n`,
    );
    return ExitCode.usage;
  }
  raw.forEach((entry: unknown, i: number) => {
    const where = formatLocation(doc.locate(['case', i]));
    const c = entry as Record<string, unknown>;
    const annotations = annotationsFrom(c.annotations);
    const mode = c.user_mode;
    const expect = c.expect;
    const caller = callerFrom(c.as, c.groups);
    if (typeof caller === 'string') problems.push(`${where}: as / groups: ${caller}`);
    else if (typeof c.server !== 'string' || typeof c.tool !== 'string')
      problems.push(`${where}: a case needs server and tool (strings)`);
    else if (annotations === 'invalid')
      problems.push(
        `${where}: annotations must be a table of readOnlyHint / destructiveHint / idempotentHint / openWorldHint booleans`,
      );
    else if (mode !== undefined && !USER_MODES.includes(mode as UserApprovalMode))
      problems.push(`${where}: user_mode must be one of ${USER_MODES.join(', ')}`);
    else if (
      !expect ||
      typeof expect !== 'object' ||
      Array.isArray(expect) ||
      Object.keys(expect).length === 0
    )
      problems.push(
        `${where}: expect must be a table, e.g. expect = { decision = "approval", approval = "two_person" }`,
      );
    else {
      const unknown = Object.keys(expect).filter((k) => !EXPECT_KEYS.includes(k));
      if (unknown.length > 0)
        problems.push(
          `${where}: unknown expect key(s) ${unknown.join(', ')}; known: ${EXPECT_KEYS.join(', ')}`,
        );
      else
        cases.push({
          name: typeof c.name === 'string' ? c.name : `${c.server}/${c.tool}`,
          server: c.server,
          tool: c.tool,
          annotations,
          userMode: (mode as UserApprovalMode | undefined) ?? null,
          caller,
          expect: expect as Record<string, unknown>,
          where,
        });
    }
  });
  if (problems.length > 0) {
    for (const p of problems) io.stderr(`error: ${p}\n`);
    return ExitCode.usage;
  }
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  const results = cases.map((c) => {
    const got = decisionJson(
      decideInWorld(world, c.server, c.tool, c.annotations, c.userMode, c.caller),
    );
    const mismatches = Object.entries(c.expect)
      .filter(([k, v]) => got[k] !== v)
      .map(([k, v]) => ({ key: k, expected: v, got: got[k] }));
    return { name: c.name, where: c.where, ok: mismatches.length === 0, mismatches, decision: got };
  });
  const failedCount = results.filter((r) => !r.ok).length;
  if (opts.json)
    io.stdout(
      `${JSON.stringify({ passed: results.length - failedCount, failed: failedCount, cases: results }, null, 2)}\n`,
    );
  else {
    for (const r of results) {
      io.stdout(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}\n`);
      for (const m of r.mismatches)
        io.stdout(
          `      ${m.key}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)}  (${r.where}; rule: ${String(r.decision.rule)})\n`,
        );
    }
    io.stdout(`${results.length - failedCount} passed, ${failedCount} failed\n`);
  }
  return failedCount > 0 ? ExitCode.policyTestFailed : ExitCode.ok;
}
