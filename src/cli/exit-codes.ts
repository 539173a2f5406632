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
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
