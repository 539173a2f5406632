import type { McpTransport } from '../config/mcp-server.js';
import type { ServerIdentityRule, StringMatcher } from './model.js';
import { maskUrl } from '../masking/mask-text.js';
import { urlPrefixMismatch } from './url-prefix.js';
import type { ExecutableFacts } from './executable-pin.js';
import { pinMismatch, pinOf } from './executable-pin.js';

export type { ExecutableFacts } from './executable-pin.js';

export type IdentityVerdict =
  | { matched: true }
  | {
      matched: false;
      code: 'identity_mismatch' | 'transport_mismatch' | 'pin_mismatch';
      detail: string;
    };

/**
 * `gatehouse`: Codex's rules plus the documented safer cases (structural URL prefix, sha256
 * pins). `codex`: exactly what Codex 0.169 decides, for `--codex-requirements`.
 */
export type MatchMode = 'gatehouse' | 'codex';

function describeMatcher(m: StringMatcher): string {
  return m.match === 'regex' ? `regex ${m.expression}` : `${m.match} ${m.value}`;
}

/** Why `value` fails `matcher`, or null when it matches. */
export function stringMismatch(
  matcher: StringMatcher,
  value: string,
  kind: 'url' | 'arg',
  mode: MatchMode,
): string | null {
  switch (matcher.match) {
    case 'exact':
      if (value === matcher.value) return null;
      if (kind === 'url' && (value === `${matcher.value}/` || `${value}/` === matcher.value)) {
        return `differs from ${matcher.value} only by a trailing slash (exact URLs are compared as written)`;
      }
      return `is not exactly ${matcher.value}`;
    case 'prefix':
      if (kind === 'url' && mode === 'gatehouse') return urlPrefixMismatch(matcher.value, value);
      return value.startsWith(matcher.value) ? null : `does not start with ${matcher.value}`;
    case 'regex':
      return matcher.regex.matchesWhole(value)
        ? null
        : `does not match ${describeMatcher(matcher)} (whole value)`;
    default: {
      const never: never = matcher;
      return String(never);
    }
  }
}

/**
 * Decides whether a configured server's transport identity satisfies a rule with the same
 * name. Name equality is the caller's job; this is the "AND transport" half.
 */
export function matchServerIdentity(
  transport: McpTransport,
  rule: ServerIdentityRule,
  mode: MatchMode,
  executable?: ExecutableFacts,
): IdentityVerdict {
  if (rule.transport !== transport.type) {
    const want = rule.transport === 'stdio' ? 'a command (stdio)' : 'a URL (streamable HTTP)';
    return {
      matched: false,
      code: 'transport_mismatch',
      detail: `the rule allows ${want}, but the server is ${transport.type === 'stdio' ? 'stdio' : 'streamable HTTP'}`,
    };
  }
  if (rule.transport === 'streamable_http' && transport.type === 'streamable_http') {
    const why = stringMismatch(rule.url, transport.url, 'url', mode);
    return why
      ? {
          matched: false,
          code: 'identity_mismatch',
          detail: `url ${maskUrl(transport.url)} ${why}`,
        }
      : { matched: true };
  }
  if (rule.transport !== 'stdio' || transport.type !== 'stdio') {
    return { matched: false, code: 'transport_mismatch', detail: 'transport differs' };
  }
  if (rule.form === 'exact') {
    if (transport.command !== rule.command) {
      return {
        matched: false,
        code: 'identity_mismatch',
        detail: `command ${transport.command} is not exactly ${rule.command}`,
      };
    }
  } else {
    if (transport.command !== rule.executable) {
      return {
        matched: false,
        code: 'identity_mismatch',
        detail: `command ${transport.command} is not exactly ${rule.executable}`,
      };
    }
    if (transport.args.length !== rule.args.length) {
      return {
        matched: false,
        code: 'identity_mismatch',
        detail: `the rule expects exactly ${rule.args.length} argument(s), the server has ${transport.args.length}`,
      };
    }
    for (let i = 0; i < rule.args.length; i++) {
      const why = stringMismatch(
        rule.args[i] as StringMatcher,
        transport.args[i] ?? '',
        'arg',
        mode,
      );
      if (why)
        return { matched: false, code: 'identity_mismatch', detail: `argument ${i + 1} ${why}` };
    }
  }
  const pin = mode === 'gatehouse' ? pinOf(rule) : null;
  if (pin) {
    const why = pinMismatch(pin, executable);
    if (why) return { matched: false, code: 'pin_mismatch', detail: why };
  }
  return { matched: true };
}
