/**
 * Gatehouse's public API. Anything exported here is public; `test/pins.test.ts` freezes the
 * list so a change to it is a deliberate one.
 * @module
 */
export type {
  Diagnostic,
  DiagnosticCode,
  Severity,
  SourceLocation,
} from './diagnostics/diagnostic.js';
export { renderDiagnostic } from './diagnostics/diagnostic.js';

export type {
  ApprovalMode,
  ConfigOrigin,
  EnvVarRef,
  McpServerConfig,
  McpTransport,
  StdioTransport,
  StreamableHttpTransport,
} from './config/mcp-server.js';
export { serverWithDefaults } from './config/mcp-server.js';
export type { ConfigSourceSpec, LoadConfigOptions, LoadedConfig } from './config/load-config.js';
export { defaultCodexHome, defaultGatehouseHome, loadConfig } from './config/load-config.js';
export { importMcpJson } from './config/mcp-json.js';
export { Constrained } from './config/constrained.js';

export type {
  Requirements,
  RequirementSource,
  ServerIdentityRule,
  ServerRule,
  ServerRuleSet,
  StringMatcher,
} from './requirements/model.js';
export { describeSource, describeSources } from './requirements/model.js';
export type {
  LoadedRequirements,
  LoadRequirementsOptions,
} from './requirements/load-requirements.js';
export { composeRequirementLayers, loadRequirements } from './requirements/load-requirements.js';
export type {
  ExecutableFacts,
  IdentityVerdict,
  MatchMode,
} from './requirements/match-server-identity.js';
export { matchServerIdentity } from './requirements/match-server-identity.js';
export { inspectExecutable } from './requirements/executable.js';
export type { ServerDecision } from './requirements/apply-requirements.js';
export { constrainServers } from './requirements/apply-requirements.js';
export type { DisabledReason, DisabledReasonCode } from './requirements/disabled-reason.js';
export { DISABLED_REASON_CODES, formatStatus } from './requirements/disabled-reason.js';
export type { CompiledRustRegex } from './requirements/rust-regex.js';
export { compileRustRegex, RustRegexError } from './requirements/rust-regex.js';

export type { ProbeResult, RuntimeState } from './gateway/probe.js';
export { probeServer, probeServers } from './gateway/probe.js';

export type { CliIo } from './cli/io.js';
export { runCli } from './cli/program.js';
export { ExitCode } from './cli/exit-codes.js';
