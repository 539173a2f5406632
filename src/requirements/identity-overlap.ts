import type { McpTransport } from '../config/mcp-server.js';
import { matchServerIdentity, stringMismatch } from './match-server-identity.js';
import type { Requirements, ServerIdentityRule, ServerRule, StringMatcher } from './model.js';

/**
 * Tool rules are keyed by server name, and the name is the user's choice; the identity is not.
 * These pure functions find which allowlisted names a server's identity could stand for, so
 * their tool rules apply to it too (strictest wins), and which identity rules overlap.
 */

/** Every allowlist rule, top-level and plugin-scoped (tool rules are keyed by name across both). */
function allRules(requirements: Requirements): ServerRule[] {
  return [
    ...(requirements.mcpServers?.rules.values() ?? []),
    ...[...requirements.plugins.values()].flatMap((set) => [...set.rules.values()]),
  ];
}

/**
 * The identity with its sha256 pin left out: two names are aliases when the command or URL
 * match, whatever binary the pin names (the stricter reading: a pin narrows which binary may
 * start, not which rules apply to a server that looks the same).
 */
function withoutPin(identity: ServerIdentityRule): ServerIdentityRule {
  return identity.transport === 'stdio' ? { ...identity, sha256: null } : identity;
}

/**
 * The allowlisted names other than `ownName` whose identity rule this transport satisfies.
 * A server registered as `sandbox` with the command of the `payments` rule gets `payments`'
 * tool rules as well as its own.
 */
export function identityAliases(
  ownName: string,
  transport: McpTransport,
  requirements: Requirements,
): string[] {
  const out = new Set<string>();
  for (const rule of allRules(requirements)) {
    if (rule.name === ownName) continue;
    if (matchServerIdentity(transport, withoutPin(rule.identity), 'gatehouse').matched)
      out.add(rule.name);
  }
  return [...out].sort();
}

/** Two allowlisted names whose identity rules can admit the same server. */
export interface IdentityOverlap {
  first: ServerRule;
  second: ServerRule;
  /** Why, e.g. `both admit command "npx" with any arguments`. */
  why: string;
  /** True when the overlap is certain; false when a regex makes it impossible to rule out. */
  certain: boolean;
}

type MaybeOverlap = { overlap: false } | { overlap: true; certain: boolean };
const NO: MaybeOverlap = { overlap: false };
const YES: MaybeOverlap = { overlap: true, certain: true };
const MAYBE: MaybeOverlap = { overlap: true, certain: false };

/** Can one value satisfy both matchers? Exact and prefix are decided; a regex pair is "maybe". */
export function matchersOverlap(
  a: StringMatcher,
  b: StringMatcher,
  kind: 'url' | 'arg',
): MaybeOverlap {
  const fits = (m: StringMatcher, value: string) =>
    stringMismatch(m, value, kind, 'gatehouse') === null;
  if (a.match === 'exact') return fits(b, a.value) ? YES : NO;
  if (b.match === 'exact') return fits(a, b.value) ? YES : NO;
  if (a.match === 'prefix' && b.match === 'prefix') {
    // Two prefixes share values exactly when one extends the other (the longer one is itself
    // an admitted value of the shorter, or a value below it is).
    if (kind === 'url')
      return fits(a, b.value) || fits(b, a.value) || a.value === b.value ? YES : NO;
    return a.value.startsWith(b.value) || b.value.startsWith(a.value) ? YES : NO;
  }
  // A regex against a prefix or another regex: not decided here; reported as possible.
  return MAYBE;
}

function describeIdentityShort(identity: ServerIdentityRule): string {
  if (identity.transport === 'streamable_http')
    return `url ${identity.url.match === 'regex' ? identity.url.expression : identity.url.value}`;
  return identity.form === 'exact'
    ? `command ${JSON.stringify(identity.command)} with any arguments`
    : `command ${JSON.stringify(identity.executable)} with ${identity.args.length} matching argument(s)`;
}

/** Whether two identity rules can admit the same server (pins ignored, as for aliases). */
export function identitiesOverlap(a: ServerIdentityRule, b: ServerIdentityRule): MaybeOverlap {
  if (a.transport === 'streamable_http' || b.transport === 'streamable_http') {
    if (a.transport !== 'streamable_http' || b.transport !== 'streamable_http') return NO;
    return matchersOverlap(a.url, b.url, 'url');
  }
  const commandOf = (i: typeof a) => (i.form === 'exact' ? i.command : i.executable);
  if (commandOf(a) !== commandOf(b)) return NO;
  if (a.form === 'exact' || b.form === 'exact') return YES; // the exact form admits any args
  if (a.args.length !== b.args.length) return NO;
  let certain = true;
  for (let i = 0; i < a.args.length; i++) {
    const r = matchersOverlap(a.args[i] as StringMatcher, b.args[i] as StringMatcher, 'arg');
    if (!r.overlap) return NO;
    certain &&= r.certain;
  }
  return { overlap: true, certain };
}

/**
 * Every pair of differently named allowlist rules whose identities can admit the same server
 * (`requirements check` warns: such a server gets the tool rules of every name it matches).
 */
export function overlappingIdentityRules(requirements: Requirements): IdentityOverlap[] {
  const rules = allRules(requirements);
  const out: IdentityOverlap[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const first = rules[i] as ServerRule;
      const second = rules[j] as ServerRule;
      if (first.name === second.name) continue;
      const key = [first.name, second.name].sort().join('\u0000');
      if (seen.has(key)) continue;
      const r = identitiesOverlap(first.identity, second.identity);
      if (!r.overlap) continue;
      seen.add(key);
      const why = `'${first.name}' (${describeIdentityShort(first.identity)}) and '${second.name}' (${describeIdentityShort(second.identity)}) ${r.certain ? 'can admit the same server' : 'may admit the same server (a regex: cannot be ruled out)'}`;
      out.push({ first, second, why, certain: r.certain });
    }
  }
  return out;
}
