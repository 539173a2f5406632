import type { ApprovalRow } from './queue.js';

/**
 * The JSON a webhook (an outside system) receives when a call starts waiting for approval: the
 * arguments as the queue holds them, masked like the audit (secrets and personal data).
 */
export function webhookPayload(row: ApprovalRow, approveCommand: string): Record<string, unknown> {
  return {
    event: 'approval.requested',
    id: row.id,
    server: row.server,
    tool: row.tool,
    requester: row.requester,
    approval: row.twoPerson ? 'two_person' : 'user',
    level: row.level,
    arguments: row.argumentsMasked,
    rule: row.rule,
    policy_revision: row.policyRevision,
    expires_at: row.expiresAt,
    approve: approveCommand,
  };
}

/**
 * POSTs the notice (5 s budget). A webhook that is down never affects the call — it keeps
 * waiting in the queue — but the failure is reported through `onFailure`.
 */
export async function sendWebhook(
  url: string,
  payload: Record<string, unknown>,
  onFailure: (message: string) => void,
): Promise<void> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'gatehouse' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) onFailure(`approval webhook ${new URL(url).origin} answered HTTP ${res.status}`);
  } catch (err) {
    onFailure(
      `approval webhook ${new URL(url).origin} unreachable: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
    );
  }
}
