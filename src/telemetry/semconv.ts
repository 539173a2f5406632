/**
 * OpenTelemetry semantic-convention names Gatehouse uses (MCP, GenAI tool calls, RPC), as in
 * `@opentelemetry/semantic-conventions/incubating` (a test pins them there). Literals, so the
 * gateway does not load that large module; `gatehouse.*` names are Gatehouse's own.
 */
export const ATTR = {
  mcpMethod: 'mcp.method.name',
  mcpSession: 'mcp.session.id',
  mcpProtocolVersion: 'mcp.protocol.version',
  genAiOperation: 'gen_ai.operation.name',
  genAiToolName: 'gen_ai.tool.name',
  jsonrpcRequestId: 'jsonrpc.request.id',
  rpcStatusCode: 'rpc.response.status_code',
  errorType: 'error.type',
  networkTransport: 'network.transport',
  server: 'gatehouse.server',
  caller: 'gatehouse.caller.subject',
  decision: 'gatehouse.decision',
  rule: 'gatehouse.decision.rule',
  outcome: 'gatehouse.outcome',
  answeredBy: 'gatehouse.answered_by',
  approvalWait: 'gatehouse.approval.wait_ms',
  maskedCount: 'gatehouse.masking.count',
  maskedKinds: 'gatehouse.masking.kinds',
  stage: 'gatehouse.stage',
} as const;

/** The MCP server-side operation duration histogram (semconv `mcp.server.operation.duration`). */
export const MCP_SERVER_OPERATION_DURATION = 'mcp.server.operation.duration';
/** `gen_ai.operation.name` of a tool call. */
export const EXECUTE_TOOL = 'execute_tool';
