import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { expect, test } from 'vitest';
import { ATTR, EXECUTE_TOOL, MCP_SERVER_OPERATION_DURATION } from './semconv.js';

// The literals in semconv.ts are the OpenTelemetry names: this fails if one drifts.
test('attribute and metric names are the semantic conventions', () => {
  expect(ATTR.mcpMethod).toBe(incubating.ATTR_MCP_METHOD_NAME);
  expect(ATTR.mcpSession).toBe(incubating.ATTR_MCP_SESSION_ID);
  expect(ATTR.mcpProtocolVersion).toBe(incubating.ATTR_MCP_PROTOCOL_VERSION);
  expect(ATTR.genAiOperation).toBe(incubating.ATTR_GEN_AI_OPERATION_NAME);
  expect(ATTR.genAiToolName).toBe(incubating.ATTR_GEN_AI_TOOL_NAME);
  expect(ATTR.jsonrpcRequestId).toBe(incubating.ATTR_JSONRPC_REQUEST_ID);
  expect(ATTR.rpcStatusCode).toBe(incubating.ATTR_RPC_RESPONSE_STATUS_CODE);
  expect(ATTR.errorType).toBe(incubating.ATTR_ERROR_TYPE);
  expect(ATTR.networkTransport).toBe(incubating.ATTR_NETWORK_TRANSPORT);
  expect(EXECUTE_TOOL).toBe(incubating.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL);
  expect(MCP_SERVER_OPERATION_DURATION).toBe(incubating.METRIC_MCP_SERVER_OPERATION_DURATION);
});
