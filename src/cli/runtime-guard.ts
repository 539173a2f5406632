/**
 * Code that runs inside the gateway is not governed by it. Node loads code named by its runtime
 * options (`NODE_OPTIONS=--require ./x.js`, `--import`, `--loader`, an inspector port …) and the
 * dynamic loader loads `LD_PRELOAD` and friends — all BEFORE Gatehouse's first line runs, and all
 * settable by the governed user (e.g. in the `env` table of their own Codex entry). Gatehouse
 * cannot undo that, so it refuses to govern (the injected code has already run: this is a
 * refusal, not a prevention); the `gatehouse-governed` launcher clears them before Node starts.
 */

/** One runtime option or variable that can load code into this process. */
export interface RuntimeInjection {
  /** Where it was found. */
  where: 'NODE_OPTIONS' | 'node options' | 'environment';
  /** The option or variable as found (its value left out: it may be a path or a secret). */
  option: string;
  why: string;
}

/**
 * Node options that load no code and weaken nothing, by name (`-`/`_` spellings alike). Any
 * other option is refused: an allowlist, because Node keeps adding ways to load code.
 */
const HARMLESS_NODE_OPTIONS = new Set([
  '--max-old-space-size',
  '--max-semi-space-size',
  '--stack-size',
  '--v8-pool-size',
  '--no-warnings',
  '--disable-warning',
  '--no-deprecation',
  '--trace-warnings',
  '--trace-deprecation',
  '--throw-deprecation',
  '--pending-deprecation',
  '--trace-uncaught',
  '--trace-exit',
  '--trace-sigint',
  '--enable-source-maps',
  '--unhandled-rejections',
  '--dns-result-order',
  '--max-http-header-size',
  '--network-family-autoselection',
  '--network-family-autoselection-attempt-timeout',
  '--no-network-family-autoselection',
  '--use-openssl-ca',
  '--use-bundled-ca',
  '--use-system-ca',
  '--tls-min-v1.0',
  '--tls-min-v1.1',
  '--tls-min-v1.2',
  '--tls-min-v1.3',
  '--tls-max-v1.2',
  '--tls-max-v1.3',
  '--tls-cipher-list',
  '--force-fips',
  '--enable-fips',
  '--secure-heap',
  '--secure-heap-min',
  '--zero-fill-buffers',
  '--disable-proto',
  '--frozen-intrinsics',
  '--no-addons',
  '--title',
  '--report-on-signal',
  '--report-on-fatalerror',
  '--report-uncaught-exception',
  '--report-compact',
  '--report-signal',
  '--heapsnapshot-near-heap-limit',
  '--heapsnapshot-signal',
]);

/** Variables the dynamic loader or Node itself reads to load or trust code from elsewhere. */
function loaderVariable(name: string): string | null {
  if (/^LD_/.test(name)) return 'the dynamic loader reads it (preloads or library search paths)';
  if (/^DYLD_/.test(name)) return 'the macOS dynamic loader reads it';
  if (name === 'NODE_PATH') return 'Node resolves modules from it';
  if (name === 'NODE_COMPILE_CACHE') return 'Node loads compiled code from that directory';
  return null;
}

/** Splits NODE_OPTIONS as Node does: on spaces, with double quotes grouping and `\` escaping. */
export function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let has = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && quoted && i + 1 < value.length) {
      current += value[++i];
      has = true;
    } else if (c === '"') {
      quoted = !quoted;
      has = true;
    } else if (/\s/.test(c) && !quoted) {
      if (has) out.push(current);
      current = '';
      has = false;
    } else {
      current += c;
      has = true;
    }
  }
  if (has) out.push(current);
  return out;
}

/** The option's name, normalised: `--Foo_bar=1` → `--foo-bar` (Node accepts `_` for `-`). */
function optionName(token: string): string {
  const name = token.split('=', 1)[0] as string;
  const dashes = name.startsWith('--') ? '--' : '-';
  return dashes + name.slice(dashes.length).replace(/_/g, '-').toLowerCase();
}

function checkOptions(tokens: readonly string[], where: RuntimeInjection['where']) {
  const out: RuntimeInjection[] = [];
  for (const token of tokens) {
    if (!token.startsWith('-') || token === '-' || token === '--') continue; // a value
    const name = optionName(token);
    if (HARMLESS_NODE_OPTIONS.has(name)) continue;
    out.push({
      where,
      option: name,
      why: /^-(r|-require|-import|-loader|-experimental-loader)$/.test(name)
        ? 'loads code into the gateway before it starts'
        : /^--inspect/.test(name)
          ? 'opens a debugger that can run any code in the gateway'
          : 'not known to be harmless (only options that load no code are accepted)',
    });
  }
  return out;
}

/**
 * What in this process's start-up could have loaded code Gatehouse does not govern. NODE_OPTIONS
 * and Node's own options are always checked; loader variables (LD_PRELOAD, DYLD_*, NODE_PATH …)
 * when an admin-owned requirements file is in force (a single developer may need them). Pure.
 */
export function runtimeInjections(
  env: NodeJS.ProcessEnv,
  execArgv: readonly string[],
  adminFloor: boolean,
): RuntimeInjection[] {
  const out = [
    ...checkOptions(splitNodeOptions(env.NODE_OPTIONS ?? ''), 'NODE_OPTIONS'),
    ...checkOptions(execArgv, 'node options'),
  ];
  if (adminFloor) {
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined || value === '') continue;
      const why = loaderVariable(name);
      if (why) out.push({ where: 'environment', option: name, why });
    }
  }
  return out;
}

/** The refusal users read (stderr, and the MCP client's error). */
export function describeInjections(found: readonly RuntimeInjection[]): string {
  const list = found.map((f) => `${f.where} ${f.option} (${f.why})`).join('; ');
  return `refusing to run governed: this process was started with runtime options that load code into the gateway: ${list}. That code has already run, so Gatehouse cannot vouch for its own checks. Start Gatehouse without them — through the gatehouse-governed launcher, or e.g. \`env -u NODE_OPTIONS gatehouse run NAME\``;
}
