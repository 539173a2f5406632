import { expect, test } from 'vitest';
import * as api from '../src/index.js';
import { buildProgram } from '../src/cli/program.js';
import { ExitCode } from '../src/cli/exit-codes.js';
import { DISABLED_REASON_CODES } from '../src/requirements/disabled-reason.js';

test('public exports are exactly these (change deliberately, with docs)', () => {
  expect(Object.keys(api).sort()).toEqual([
    'Constrained',
    'DISABLED_REASON_CODES',
    'ExitCode',
    'RustRegexError',
    'compileRustRegex',
    'composeRequirementLayers',
    'constrainServers',
    'defaultCodexHome',
    'defaultGatehouseHome',
    'describeSource',
    'describeSources',
    'formatStatus',
    'importMcpJson',
    'inspectExecutable',
    'loadConfig',
    'loadRequirements',
    'matchServerIdentity',
    'probeServer',
    'probeServers',
    'renderDiagnostic',
    'runCli',
    'serverWithDefaults',
  ]);
});

test('CLI commands are exactly these', () => {
  const io = { stdout: () => {}, stderr: () => {}, isTTY: false, env: {}, cwd: '/' };
  const program = buildProgram(io, () => {});
  const tree = program.commands.flatMap((c) => c.commands.map((s) => `${c.name()} ${s.name()}`));
  const top = program.commands.filter((c) => c.commands.length === 0).map((c) => c.name());
  expect(tree).toEqual([
    'mcp list',
    'mcp get',
    'requirements check',
    'requirements explain',
    'requirements export',
    'audit tail',
    'audit query',
    'audit export',
    'audit ship',
    'audit verify',
    'audit stats',
    'audit prune',
    'audit key',
    'policy explain',
    'policy test',
    'approvals list',
    'approvals show',
    'approvals approve',
    'approvals keygen',
    'approvals sign',
    'approvals deny',
    'approvals serve',
    'approvals public-key',
    'tokens create',
    'tokens list',
    'tokens revoke',
    'credentials list',
    'credentials revoke',
    'inventory check',
    'evidence record',
    'evidence list',
    'evidence show',
    'schema snapshot',
    'schema diff',
    'schema approve',
    'schema log',
  ]);
  expect(top).toEqual([
    'run',
    'serve',
    'mask',
    'login',
    'connect',
    'disconnect',
    'doctor',
    'console',
  ]);
  // `inventory` runs on its own too (the report); `inventory check` is its CI form.
  expect(program.commands.find((c) => c.name() === 'inventory')?.commands).toHaveLength(1);
});

test('exit codes and reason codes are stable (documented in README and docs/requirements.md)', () => {
  expect(ExitCode).toEqual({
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
    runtimeInjected: 18,
    auditIncomplete: 19,
    connectRefused: 20,
    doctorProblems: 21,
    httpSettingsRefused: 22,
    credentialUnavailable: 23,
    shipFailed: 24,
    consoleRefused: 25,
  });
  expect(DISABLED_REASON_CODES).toEqual([
    'user',
    'unsupported_auth',
    'not_allowlisted',
    'identity_mismatch',
    'transport_mismatch',
    'pin_mismatch',
    'credential_model_mismatch',
    'deny_all',
    'requirements_invalid',
  ]);
});
