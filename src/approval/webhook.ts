import { createHmac } from 'node:crypto';
import type { SecretRef } from '../credentials/model.js';
import { readSecret } from '../credentials/secret-ref.js';
import type { ApprovalRow } from './queue.js';

/** The shapes an approval webhook can be sent in (`approval_webhook_format`). */
export const WEBHOOK_FORMATS = ['json', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** What a notice says besides the row: how to approve, and where (a link people can open). */
export interface WebhookContext {
  /** The CLI command or HTTP call that approves it (the JSON format's `approve`). */
  approveCommand: string;
  /** The approval in the console or the team gateway's `/approvals`, or null when none is known. */
  link: string | null;
  /** The notice's time (for "time left"). */
  now: Date;
}

/** Masked arguments longer than this are cut in chat messages (Slack allows 3000 per text). */
const ARGUMENTS_LIMIT = 1500;
/** Names, requesters and rules longer than this are cut in chat messages. */
const NAME_LIMIT = 200;

/**
 * The notice a webhook (an outside system) receives when a call starts waiting for approval: the
 * arguments as the queue holds them, masked like the audit (secrets and personal data). `json` is
 * Gatehouse's own shape; `slack` is a Block Kit message for an incoming webhook; `teams` an
 * Adaptive Card in a message attachment (Teams workflows / incoming webhooks).
 */
export function webhookPayload(
  row: ApprovalRow,
  format: WebhookFormat,
  context: WebhookContext,
): Record<string, unknown> {
  if (format === 'slack') return slackMessage(row, context);
  if (format === 'teams') return teamsMessage(row, context);
  return {
    event: 'approval.requested',
    id: row.id,
    server: row.server,
    tool: row.tool,
    category: row.category,
    requester: row.requester,
    approval: row.twoPerson ? 'two_person' : 'user',
    level: row.level,
    arguments: row.argumentsMasked,
    rule: row.rule,
    policy_revision: row.policyRevision,
    expires_at: row.expiresAt,
    approve: context.approveCommand,
    url: context.link,
  };
}

/** "12 min" / "1 h 5 min" / "expired": how long the approval can still be given. */
export function timeLeft(expiresAt: string, now: Date): string {
  const minutes = Math.floor((Date.parse(expiresAt) - now.getTime()) / 60_000);
  if (!(minutes >= 0)) return 'expired';
  if (minutes < 1) return 'under a minute';
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** One line of at most `limit` characters: control characters (newlines too) become spaces. */
function oneLine(text: string, limit = NAME_LIMIT): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

/** The masked arguments as pretty JSON, cut to the chat limit. */
function argumentsText(row: ApprovalRow): string {
  const text = JSON.stringify(row.argumentsMasked ?? {}, null, 2);
  return text.length > ARGUMENTS_LIMIT
    ? `${text.slice(0, ARGUMENTS_LIMIT)}\n… (truncated; see the approval)`
    : text;
}

/** The facts every chat message shows, values as the server and caller gave them (not escaped). */
function facts(row: ApprovalRow, now: Date): [string, string][] {
  return [
    ['Server', row.server],
    ['Tool', row.tool],
    ['Category', row.category ?? 'none'],
    ['Level', row.level],
    ['Requester', row.requester ?? 'unknown'],
    ['Time left', timeLeft(row.expiresAt, now)],
  ];
}

/**
 * Text for Slack mrkdwn: `&`, `<` and `>` are Slack's control characters (escaped as Slack
 * documents), and backticks become a look-alike so a value cannot close the code span it is
 * shown in. Inside code Slack neither formats nor links anything, so a tool name or argument
 * cannot become a link, a mention or bold text.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, 'ˋ');
}

const slackCode = (text: string) => `\`${slackEscape(oneLine(text))}\``;

function slackMessage(row: ApprovalRow, context: WebhookContext): Record<string, unknown> {
  const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Approval needed', emoji: false } },
    {
      type: 'section',
      fields: facts(row, context.now).map(([k, v]) => mrkdwn(`*${k}*\n${slackCode(v)}`)),
    },
    {
      type: 'section',
      text: mrkdwn(`*Arguments (masked)*\n\`\`\`${slackEscape(argumentsText(row))}\`\`\``),
    },
    {
      type: 'context',
      elements: [
        mrkdwn(
          `Approval ${slackCode(row.id)} · rule ${slackCode(row.rule)} · policy ${slackCode(row.policyRevision)}`,
        ),
      ],
    },
  ];
  if (context.link)
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open the approval', emoji: false },
          url: context.link,
          action_id: 'gatehouse_open_approval',
        },
      ],
    });
  else blocks.push({ type: 'section', text: mrkdwn(slackCode(context.approveCommand)) });
  return {
    text: `Approval needed: ${slackCode(`${row.server}/${row.tool}`)} (${row.level})`,
    blocks,
  };
}

/**
 * An Adaptive Card in a Teams message. Values from servers and callers go only into `TextRun`s,
 * which Adaptive Cards never read as markdown (a `TextBlock` would turn `[x](url)` into a link).
 */
function teamsMessage(row: ApprovalRow, context: WebhookContext): Record<string, unknown> {
  const run = (text: string, extra: Record<string, unknown> = {}) => ({
    type: 'TextRun',
    text,
    ...extra,
  });
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: 'Approval needed', weight: 'Bolder', size: 'Medium', wrap: true },
    ...facts(row, context.now).map(([k, v]) => ({
      type: 'RichTextBlock',
      inlines: [run(`${k}: `, { weight: 'Bolder' }), run(oneLine(v), { fontType: 'Monospace' })],
    })),
    {
      type: 'RichTextBlock',
      inlines: [
        run('Arguments (masked)\n', { weight: 'Bolder' }),
        run(argumentsText(row), { fontType: 'Monospace' }),
      ],
    },
    {
      type: 'RichTextBlock',
      inlines: [
        run(oneLine(`Approval ${row.id} · rule ${row.rule} · policy ${row.policyRevision}`, 400), {
          isSubtle: true,
          size: 'Small',
        }),
      ],
    },
  ];
  if (!context.link)
    body.push({
      type: 'RichTextBlock',
      inlines: [run(oneLine(context.approveCommand, 400), { fontType: 'Monospace' })],
    });
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
    ...(context.link
      ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the approval', url: context.link }] }
      : {}),
  };
  return {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };
}

/**
 * `X-Gatehouse-Signature: t=UNIX,v1=HEX`: HMAC-SHA256 with the shared secret over the string
 * `UNIX.BODY` (the timestamp, a dot, the exact body bytes), so a receiver can tell the notice
 * came from this gateway, unchanged, and refuse an old one replayed (docs/requirements.md).
 */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * POSTs the notice (5 s budget), signed when a secret is set. A webhook that is down never
 * affects the call — it keeps waiting in the queue — but the failure is reported through
 * `onFailure`.
 */
export async function sendWebhook(
  url: string,
  payload: Record<string, unknown>,
  secret: string | null,
  onFailure: (message: string) => void,
): Promise<void> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'gatehouse',
  };
  if (secret !== null)
    headers['x-gatehouse-signature'] = webhookSignature(
      secret,
      Math.floor(Date.now() / 1000),
      body,
    );
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) onFailure(`approval webhook ${new URL(url).origin} answered HTTP ${res.status}`);
  } catch (err) {
    onFailure(
      `approval webhook ${new URL(url).origin} unreachable: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`,
    );
  }
}

/** The admin's webhook settings (`[gatehouse_policy] approval_webhook*`, `approval_console_url`). */
export interface WebhookSettings {
  url: string;
  format?: WebhookFormat;
  secret?: SecretRef;
  consoleUrl?: string;
}

/**
 * The approval stage's `notify`: each waiting call is POSTed in the admin's format, signed when
 * a secret is named (read once, at start, like every secret reference). A secret that cannot be
 * read is reported then and at every notice, and nothing is sent (receivers that verify would
 * reject an unsigned notice anyway). `approvalsUrl` is read per notice: the team gateway knows
 * its public URL only once serving.
 */
export function webhookNotifier(
  settings: WebhookSettings,
  env: NodeJS.ProcessEnv,
  approveCommand: (id: string) => string,
  approvalsUrl: () => string | null,
  report: (message: string) => void,
): (row: ApprovalRow) => void {
  const where = 'gatehouse_policy.approval_webhook_secret';
  const secret: Promise<{ value: string | null } | { error: string }> = settings.secret
    ? readSecret(settings.secret, env).then(
        (value) => ({ value }),
        (err: Error) => ({ error: `${where}: ${err.message}` }),
      )
    : Promise.resolve({ value: null });
  void secret.then((s) => {
    if ('error' in s) report(`${s.error}; approval webhooks are not sent`);
  });
  return (row) => {
    const api = approvalsUrl();
    const link = settings.consoleUrl
      ? `${settings.consoleUrl.replace(/\/+$/, '')}/?approval=${encodeURIComponent(row.id)}#approvals`
      : api
        ? `${api}/${encodeURIComponent(row.id)}`
        : null;
    const payload = webhookPayload(row, settings.format ?? 'json', {
      approveCommand: approveCommand(row.id),
      link,
      now: new Date(),
    });
    void secret.then((s) =>
      'error' in s
        ? report(`approval ${row.id}: webhook not sent: ${s.error}`)
        : sendWebhook(settings.url, payload, s.value, report),
    );
  };
}
