/** Stable exit codes, documented in the README and docs/cli.md. Never renumber. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  configInvalid: 3,
  requirementsInvalid: 4,
  warnings: 5,
  notFound: 6,
  requiredServerNotReady: 7,
  serverUnavailable: 8,
  auditBroken: 9,
  auditUnavailable: 10,
  policyTestFailed: 11,
  approvalRefused: 12,
  schemaDrift: 13,
  schemaLockInvalid: 14,
  inventoryViolations: 15,
  maskingFound: 16,
  maskingFailed: 17,
  /** run/serve: started with runtime options that load code into the gateway (NODE_OPTIONS …). */
  runtimeInjected: 18,
  /** audit verify: nothing is broken, but evidence is missing. */
  auditIncomplete: 19,
  connectRefused: 20,
  doctorProblems: 21,
  /** run/serve --http cannot start: an HTTP setting is invalid or refused by requirements, or a TLS file is unusable. */
  httpSettingsRefused: 22,
  /** An upstream credential is unavailable: login required, a secret reference unreadable, the AS refused. */
  credentialUnavailable: 23,
  /** audit ship: the sink is unreachable or did not take a batch (the position stays where it was). */
  shipFailed: 24,
  /** console cannot start: a non-loopback --host without --allow-remote, or the port is taken. */
  consoleRefused: 25,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What each code means, as `gatehouse --help` prints it: kept beside the numbers so a new code
 * cannot be added without its help line (the type requires one per code). The README's table says
 * the same at more length; test/exit-codes-docs.test.ts keeps the two in step.
 * A newline continues the meaning on the next help line.
 */
const EXIT_CODE_HELP: Readonly<Record<keyof typeof ExitCode, string>> = {
  ok: 'success',
  internal: 'internal error (a bug: please report it)',
  usage: 'usage error (unknown command or option)',
  configInvalid: 'configuration invalid (config.toml / .mcp.json)',
  requirementsInvalid: 'requirements invalid: every server disabled (fail closed)',
  warnings: 'warnings found (requirements check), e.g. an unknown key',
  notFound: 'no server with that name',
  requiredServerNotReady: 'a required server is not ready (mcp list --probe)',
  serverUnavailable: 'the server cannot be served (run): disabled, missing or failed to start',
  auditBroken: 'the audit trail is broken (audit verify): the first break is printed',
  auditUnavailable: 'the audit store cannot be opened or read (corrupt, foreign, unreachable)',
  policyTestFailed: 'policy test: at least one case did not get the expected decision',
  approvalRefused:
    'approvals: the decision cannot be made (already decided, expired, a grant that does not count, or the requester approving a two-person call)',
  schemaDrift: 'schema diff: a breaking or risky change was found',
  schemaLockInvalid:
    'the schema lock is unreadable or invalid (corrupt, newer version, hand-edited)',
  inventoryViolations:
    'inventory check: at least one violation of the plugin policy ([gatehouse_plugins])',
  maskingFound: 'mask --check: something in the input would be masked',
  maskingFailed: 'mask: the input could not be masked safely (nothing more was printed)',
  runtimeInjected:
    'run/serve refused: started with runtime options that load code (NODE_OPTIONS --require, LD_PRELOAD …)',
  auditIncomplete:
    "audit verify: nothing is broken, but evidence is missing (records after the last signed\ncheckpoint, no checkpoint, a call's intent without its result, a replaced store)",
  connectRefused:
    'connect/disconnect refused, nothing changed: edited concurrently, a conflicting definition, no backup',
  doctorProblems:
    'doctor: at least one problem (a server bypassing Gatehouse, a setting that cannot arrive, …)',
  httpSettingsRefused:
    'run/serve --http cannot start: an HTTP setting is invalid or refused by [gatehouse_http], a TLS file is unusable, or --approvals-key is not a listed gateway key',
  credentialUnavailable:
    'upstream credential unavailable: login required (gatehouse login NAME), a secret reference unreadable,\nor the authorization server refused',
  shipFailed:
    'audit ship: the sink is unreachable or did not acknowledge a batch (nothing after the last acknowledged record counts as shipped)',
  consoleRefused:
    'console cannot start: a non-loopback --host without --allow-remote, or the address is in use',
};

/** Exit codes that are not Gatehouse's own: printed after the table. */
const EXIT_CODE_HELP_TRAILER =
  "evidence record exits with the recorded command's own exit code (127: it could not be started)";

/** The "Exit codes:" epilog of `gatehouse --help`, generated from the table above. */
export function exitCodesHelp(): string {
  const rows = (Object.keys(ExitCode) as (keyof typeof ExitCode)[])
    .map((name) => [ExitCode[name], EXIT_CODE_HELP[name]] as const)
    .sort(([a], [b]) => a - b)
    .map(([code, text]) => `  ${String(code).padEnd(2)} ${text.split('\n').join('\n     ')}`);
  return ['', 'Exit codes:', ...rows, `  ${EXIT_CODE_HELP_TRAILER}`].join('\n');
}
