import type { ServerIdentityRule } from './model.js';

/**
 * What a `sha256` pin demands of a stdio server at every (re)start. Derived from the identity
 * rule that allowed the server; plain data so the spawner can carry it without the rule.
 */
export interface ExecutablePin {
  sha256: string;
  interpreterSha256: string | null;
  /** Injection variables the rule names explicitly (`allow_env`). */
  allowEnv: readonly string[];
}

/** The `#!` interpreter a pinned script runs under, as Gatehouse resolved and hashed it. */
export interface InterpreterFacts {
  /** The `#!` line as written (without `#!`). */
  shebang: string;
  path: string;
  sha256: string;
}

/**
 * What the pin check needs to know about a stdio server's executable: gathered by the
 * `executable` adapter (one resolution rule, realpath, hash) so the check itself stays pure.
 */
export type ExecutableFacts =
  | {
      resolved: true;
      path: string;
      sha256: string;
      /** The interpreter when the file is a `#!` script; null for a binary. */
      interpreter?: InterpreterFacts | null;
      /** The names (and PATH) of the environment the child will get: never other values. */
      environment?: EnvironmentShape;
    }
  | { resolved: false; error: string };

/** What the injection check needs of a child's environment: names, and PATH (not a secret). */
export interface EnvironmentShape {
  names: readonly string[];
  path: string | null;
}

/** The shape of an environment, without its values (facts may be printed or exported). */
export function environmentShape(env: Readonly<Record<string, string>>): EnvironmentShape {
  return { names: Object.keys(env).sort(), path: env.PATH ?? null };
}

/** The pin in an identity rule, or null when the rule pins nothing. */
export function pinOf(identity: ServerIdentityRule | null | undefined): ExecutablePin | null {
  if (!identity || identity.transport !== 'stdio' || !identity.sha256) return null;
  return {
    sha256: identity.sha256,
    interpreterSha256: identity.interpreterSha256 ?? null,
    allowEnv: identity.allowEnv ?? [],
  };
}

/**
 * Variables that make a program (or the loader or runtime under it) load code, or fetch the
 * code it runs, from somewhere other than the pinned file. Principle: anything the dynamic
 * loader, a language runtime or a package runner reads at start-up to add code, change where
 * modules come from, or run a start-up hook. Values that only change behaviour (NODE_ENV,
 * PYTHONUNBUFFERED, locale) are not on it.
 */
export const INJECTION_VARIABLES: readonly string[] = [
  // glibc / musl dynamic loader and friends
  'GLIBC_TUNABLES',
  'GCONV_PATH',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'OPENSSL_MODULES',
  // Node.js, Electron
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'ELECTRON_RUN_AS_NODE',
  // Python and its package runners
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONUSERBASE',
  'PYTHONBREAKPOINT',
  'PYTHONWARNINGS',
  'PYTHONPLATLIBDIR',
  'PIP_INDEX_URL',
  'PIP_EXTRA_INDEX_URL',
  'PIP_FIND_LINKS',
  'UV_INDEX',
  'UV_INDEX_URL',
  'UV_EXTRA_INDEX_URL',
  'UV_DEFAULT_INDEX',
  'UV_FIND_LINKS',
  // Perl, Ruby, Java
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  // shells
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
];

/** Name prefixes with the same effect (the loader's namespaces; npm's config; bash functions). */
export const INJECTION_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'BASH_FUNC_'];

/** npm reads `npm_config_*` in any case (registry, node-options, script-shell, prefix …). */
const NPM_CONFIG = /^npm_config_/i;

/** True when `name` is a loader/injection variable (see INJECTION_VARIABLES). */
export function isInjectionVariable(name: string): boolean {
  return (
    INJECTION_VARIABLES.includes(name) ||
    INJECTION_PREFIXES.some((p) => name.startsWith(p)) ||
    NPM_CONFIG.test(name)
  );
}

/**
 * Why a pinned server's environment is refused, or null. Injection variables are refused unless
 * the rule names them; a PATH with an empty or relative entry is refused too (it means "the
 * working directory", so what `#!/usr/bin/env node` or the program's own children run would
 * depend on where it starts).
 */
export function environmentMismatch(
  environment: EnvironmentShape,
  allow: readonly string[],
): string | null {
  const found = environment.names
    .filter((name) => isInjectionVariable(name) && !allow.includes(name))
    .sort();
  if (found.length > 0) {
    const list = found.map((n) => `"${n}"`).join(', ');
    return `the pinned server's environment sets ${found.join(', ')}, which can load code the pin does not cover; remove ${found.length === 1 ? 'it' : 'them'} from the server's env / env_vars, or, if the admin intends this, name ${found.length === 1 ? 'it' : 'them'} in the identity rule: allow_env = [${list}]`;
  }
  const path = environment.path;
  if (path !== null && !allow.includes('PATH')) {
    const bad = path.split(':').filter((dir) => dir === '' || !dir.startsWith('/'));
    if (bad.length > 0)
      return `the pinned server's PATH has ${bad.includes('') ? 'an empty' : 'a relative'} entry, which means the working directory: the programs it starts would depend on where it runs; use absolute directories only (or allow_env = ["PATH"] in the identity rule)`;
  }
  return null;
}

const short = (hash: string) => `${hash.slice(0, 12)}…`;

/**
 * Why the executable facts do not satisfy the pin, or null. The same check runs when the
 * requirements are applied and at every (re)start, just before the spawn.
 */
export function pinMismatch(pin: ExecutablePin, facts: ExecutableFacts | undefined): string | null {
  if (!facts) return 'the executable was not checked against its sha256 pin';
  if (!facts.resolved) return `cannot verify the sha256 pin: ${facts.error}`;
  if (facts.sha256 !== pin.sha256)
    return `executable ${facts.path} has sha256 ${short(facts.sha256)}, the rule pins ${short(pin.sha256)}`;
  const interp = facts.interpreter ?? null;
  if (interp) {
    if (pin.interpreterSha256 === null)
      return `${facts.path} is a script run by \`#!${interp.shebang}\`, which resolves to ${interp.path} (sha256 ${interp.sha256}); the interpreter runs the pinned code, so pin it too: add interpreter_sha256 = "${interp.sha256}" to the identity rule, after checking it is the interpreter you trust`;
    if (interp.sha256 !== pin.interpreterSha256)
      return `interpreter ${interp.path} (from \`#!${interp.shebang}\` of ${facts.path}) has sha256 ${short(interp.sha256)}, the rule pins ${short(pin.interpreterSha256)}`;
  } else if (pin.interpreterSha256 !== null) {
    return `the rule pins an interpreter (interpreter_sha256), but ${facts.path} is not a #! script`;
  }
  if (facts.environment) return environmentMismatch(facts.environment, pin.allowEnv);
  return null;
}

/** The pins of the servers a set of decisions allowed, by server name (for spawners). */
export function pinsByServer(
  decisions: readonly {
    server: { name: string };
    allowedBy: { identity: ServerIdentityRule } | null;
  }[],
): Map<string, ExecutablePin> {
  const pins = new Map<string, ExecutablePin>();
  for (const d of decisions) {
    const pin = pinOf(d.allowedBy?.identity);
    if (pin) pins.set(d.server.name, pin);
  }
  return pins;
}
