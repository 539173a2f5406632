import type { RequestStateKey, StateClaims } from '../approval/request-state.js';
import { deriveRequestStateKey, memoryStateClaims } from '../approval/request-state.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StoredRecord } from '../audit/chain.js';
import { canonicalJson } from '../audit/canonical-json.js';
import type { AuditEventBody, GatewayRef, ServerRef, SourceDigest } from '../audit/event.js';
import { loadOrCreateAuditKeys } from '../audit/keys.js';
import { describeAuditSpec, openAuditStore } from '../audit/open-store.js';
import { auditSpec } from './audit-store.js';
import type { AuditSink } from '../audit/writer.js';
import { AuditWriter } from '../audit/writer.js';
import { sharedAppenderDir, sharedAppenderPath } from '../audit/shared-appender.js';
import type { StateLine } from '../gateway/state-line.js';
import { maskArgs, maskTokens, maskUrl } from '../masking/mask-text.js';
import { auditStages } from '../pipeline/stages/audit.js';
import { approvalStage } from '../pipeline/stages/approval.js';
import { policyStage, scopeCallerOf } from '../pipeline/stages/policy.js';
import { maskingStage } from '../pipeline/stages/masking.js';
import { Masker } from '../masking/engine.js';
import { maskForAudit, maskOutgoingMessage } from '../masking/mask-mcp.js';
import { bindingIdentities } from '../approval/binding-identity.js';
import { maskingExemption } from '../masking/policy.js';
import type { OutgoingShaper } from '../gateway/downstream/session.js';
import type { ApprovalQueue } from '../approval/queue.js';
import { webhookNotifier } from '../approval/webhook.js';
import type { GovernanceFactory } from '../gateway/run-gateway.js';
import type { CliIo } from './io.js';
import { onShutdown } from './shutdown.js';
import { policySettingsFor } from './policy-settings.js';
import type { World } from './world.js';
import { gatehouseVersion } from '../version.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { credentialUse } from '../credentials/server-model.js';

export interface AuditRuntime {
  /** Each session's governance stages: audit, masking, policy, approval, detokenize. */
  governance: GovernanceFactory;
  /** Masks what servers send the client outside results (logs, progress, sampling, elicitation). */
  shapeOutgoing: OutgoingShaper;
  /** Wraps a state-line writer so each server state change is recorded too. */
  stateLine(inner: (line: StateLine) => void): (line: StateLine) => void;
  /** Records the stop and signs the closing checkpoint. */
  close(reason: string): Promise<void>;
  /** Records an event without waiting for it (evidence such as schema drift). */
  evidence(event: AuditEventBody): void;
  /** For `/readyz`: null when the store answers a read (bounded); a reason without location otherwise. */
  storeProblem(): Promise<string | null>;
  /** The approval queue in the audit store (null: the store could not be opened). */
  approvals: ApprovalQueue | null;
  /** Records a decision's evidence and waits until it is durable (throws when it is not). */
  recordDurable(event: AuditEventBody): Promise<void>;
  /** The team gateway's approvals API: waiting calls and webhooks point approvers there. */
  approvalsServedAt(url: string): void;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function fileDigest(kind: string, file: string): SourceDigest {
  try {
    return { kind, file, sha256: sha256(readFileSync(file)) };
  } catch {
    return { kind, file, sha256: null };
  }
}

/** The effective config and requirements, as hashes plus the sources they came from. */
function sourceDigests(world: World, env: NodeJS.ProcessEnv) {
  const config = world.config.sources
    .filter((s) => s.status === 'loaded')
    .map((s) => fileDigest(s.kind, s.file));
  const requirements = world.requirements.layers
    .filter((l) => l.status === 'loaded')
    .map((l) =>
      l.source.kind === 'env'
        ? { kind: 'env', file: l.source.name, sha256: sha256(env[l.source.name] ?? '') }
        : fileDigest(l.source.kind, l.source.path),
    );
  return {
    config: { sha256: sha256(canonicalJson(config)), sources: config },
    requirements: { sha256: sha256(canonicalJson(requirements)), sources: requirements },
  };
}

/** A sink that refuses everything: the store could not be opened, so calls must be refused. */
function brokenSink(reason: string): AuditSink {
  return {
    gateway: { instance: 'unavailable', pid: process.pid, host: '' },
    record: () => Promise.reject(new Error(reason)),
  };
}

function serverRefs(world: World): Map<string, ServerRef> {
  return new Map(
    world.decisions.map((d) => {
      const t = d.server.transport;
      return [
        d.server.name,
        {
          name: d.server.name,
          identity:
            t.type === 'stdio'
              ? { command: t.command, args: maskArgs(t.args) }
              : { url: maskUrl(t.url) },
        },
      ];
    }),
  );
}

/**
 * Starts the audit trail for a gateway process: opens the store, loads (or creates) the keys,
 * records the start with the effective config and requirements, and returns the pipeline's
 * audit stages. A store that cannot be opened does not stop the gateway: every audited call is
 * refused with the reason (fail closed), unless an admin set fail-open.
 */
export async function startAudit(
  world: World,
  io: CliIo,
  flag: string | undefined,
  start: { mode: 'run' | 'serve'; transport: 'stdio' | 'http'; servers: string[] },
  telemetry: Telemetry | null = null,
): Promise<AuditRuntime> {
  const audit = world.requirements.requirements.audit;
  const failOpen = audit.failOpen?.value ?? false;
  const spec = auditSpec(world, io, flag);
  const where = describeAuditSpec(spec, world.gatehouseHome);
  const problem = (detail: string) =>
    io.stderr(`${JSON.stringify({ event: 'audit_error', detail: maskTokens(detail) })}\n`);
  let sink: AuditSink;
  let writer: AuditWriter | null = null;
  let shared: 'host' | 'client' | 'direct' | 'off' = 'off';
  let hmacKey: Buffer = Buffer.alloc(32);
  /** Sealed MCP requestStates: a sub-key of the HMAC key; none when the keys did not load. */
  let requestStateKey: RequestStateKey | null = null;
  try {
    const keys = loadOrCreateAuditKeys(world.gatehouseHome);
    hmacKey = keys.hmac;
    requestStateKey = deriveRequestStateKey(keys.hmac);
    const store = await openAuditStore(spec, world.gatehouseHome);
    const socketDir = (audit.sharedAppender?.value ?? true) ? sharedAppenderDir(io.env) : null;
    writer = new AuditWriter(store, {
      signingKey: keys.signing,
      ...(socketDir ? { sharedSocket: sharedAppenderPath(store, socketDir) } : {}),
      ...(audit.checkpointEveryRecords
        ? { checkpointEveryRecords: audit.checkpointEveryRecords.value }
        : {}),
      ...(audit.checkpointEverySeconds
        ? { checkpointEverySeconds: audit.checkpointEverySeconds.value }
        : {}),
      ...(audit.witness ? { witnessFile: audit.witness.value } : {}),
      onError: (err) => problem(err.message),
      ...(telemetry ? { onAppended: (ms: number) => telemetry.auditAppended(ms) } : {}),
    });
    const queued = writer;
    telemetry?.auditQueueDepth(() => queued.queued);
    sink = writer;
    if (socketDir) shared = await writer.sharedRole();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    problem(`audit store ${where} unavailable: ${message}`);
    sink = brokenSink(message);
  }
  const record = (event: AuditEventBody, lazy = false): Promise<StoredRecord | null> =>
    sink.record(event, { lazy }).catch((err: unknown) => {
      problem(err instanceof Error ? err.message : String(err));
      return null;
    });
  await record({
    type: 'gateway.start',
    mode: start.mode,
    transport: start.transport,
    version: gatehouseVersion(),
    servers: start.servers,
    ...sourceDigests(world, io.env),
    audit: { store: where, fail_open: failOpen, shared_appender: shared },
  });
  const refs = serverRefs(world);
  const maskingPolicy = world.requirements.requirements.masking;
  const stages = auditStages({
    masker: new Masker(maskingPolicy),
    sink,
    hmacKey,
    failOpen,
    serverRef: (name) => refs.get(name) ?? { name, identity: null },
    onProblem: problem,
    credentialOf: (name, caller) => {
      const server = world.decisions.find((d) => d.server.name === name)?.server;
      const principal = scopeCallerOf(caller).principal;
      return server ? credentialUse(server, principal) : { model: 'none', principal: null };
    },
  });
  const policy = world.requirements.requirements.policy;
  const settings = policySettingsFor(world, (message) =>
    io.stderr(`${JSON.stringify({ event: 'policy_warning', detail: message })}\n`),
  );
  let queue: ApprovalQueue | null = null;
  try {
    queue = writer?.store.approvals() ?? null;
  } catch (err) {
    problem(`approval queue unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const storeFlag = spec ? ` --audit ${where}` : '';
  let approvalsUrl: string | null = null;
  const approveHint = (id: string) =>
    approvalsUrl
      ? `an approver signed in to the team gateway approves it: POST ${approvalsUrl}/${id}/approve`
      : `an approver runs \`gatehouse${storeFlag} approvals approve ${id}\``;
  const bindingIds = bindingIdentities(
    world.decisions.map((d) => d.server),
    io.env,
  );
  const peopleMasker = new Masker(maskingPolicy);
  // One for the process: every replica sharing the store sees a state's use (claimState);
  // without a store, this process alone (a state could be replayed once on another process).
  const claimState = queue?.claimState?.bind(queue);
  const stateClaims: StateClaims = claimState
    ? { claim: (id, expiresAt) => claimState(id, new Date(expiresAt).toISOString()) }
    : memoryStateClaims();
  const governance: GovernanceFactory = (router, scopes) => ({
    'audit-intent': stages.intent,
    'audit-result': stages.result,
    ...maskingStage({
      policy: maskingPolicy,
      router,
      recordDetokenized: async (ctx, kinds) => {
        const stored = await record({
          type: 'masking.detokenized',
          call_id: ctx.auditCallId,
          server: ctx.target?.server ?? '',
          target: ctx.target?.tool ?? null,
          kinds,
          thread_id: ctx.caller?.threadId ?? null,
          parent_thread_id: ctx.caller?.parentThreadId ?? null,
        });
        if (!stored && !failOpen) throw new Error('the audit store cannot be written');
      },
    }),
    policy: policyStage(
      router,
      settings,
      (ctx, params) =>
        scopes.get(ctx.request.id)?.notify({ method: 'notifications/message', params }) ??
        Promise.resolve(),
    ),
    approval: approvalStage({
      scopes,
      hmacKey,
      queue,
      waitMs: policy.approvalWaitSeconds * 1000,
      ttlMs: policy.approvalTtlSeconds * 1000,
      evidence: (event) => void record(event, true),
      serverIdentity: (name) => bindingIds.get(name) ?? null,
      approvers: world.requirements.requirements.approvals.approvers,
      inBandCategories: world.requirements.requirements.approvals.inBandCategories,
      maskForPeople: (value) => maskForAudit(peopleMasker, value),
      rounds: {
        key: requestStateKey,
        claims: stateClaims,
        ttlMs: policy.approvalTtlSeconds * 1000,
      },
      approveHint,
      ...(policy.approvalWebhook
        ? {
            notify: webhookNotifier(
              {
                url: policy.approvalWebhook,
                ...(policy.approvalWebhookFormat ? { format: policy.approvalWebhookFormat } : {}),
                ...(policy.approvalWebhookSecret ? { secret: policy.approvalWebhookSecret } : {}),
                ...(policy.approvalConsoleUrl ? { consoleUrl: policy.approvalConsoleUrl } : {}),
              },
              io.env,
              (id) =>
                approvalsUrl
                  ? `POST ${approvalsUrl}/${id}/approve`
                  : `gatehouse${storeFlag} approvals approve ${id}`,
              () => approvalsUrl,
              (message) =>
                io.stderr(`${JSON.stringify({ event: 'webhook_error', detail: message })}\n`),
            ),
          }
        : {}),
    }),
  });
  let closed = false;
  const close = async (reason: string) => {
    if (closed) return;
    closed = true;
    await record({ type: 'gateway.stop', reason });
    await writer?.close().catch((err: unknown) => problem(String(err)));
  };
  onShutdown(() => close('signal'));
  const outgoingMasker = new Masker(maskingPolicy);
  const shapeOutgoing: OutgoingShaper = (server, message) =>
    server !== null && maskingExemption(maskingPolicy, server, null)
      ? message
      : maskOutgoingMessage(outgoingMasker, message);
  return {
    governance,
    approvals: queue,
    approvalsServedAt: (url) => {
      approvalsUrl = url;
    },
    recordDurable: async (event) => {
      await sink.record(event);
    },
    evidence: (event) => void record(event, true),
    storeProblem: async () => {
      if (!writer) return 'audit store unavailable';
      const store = writer.store;
      const answered = await Promise.race([
        store.head().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
      return answered ? null : 'audit store unreachable';
    },
    shapeOutgoing,
    stateLine: (inner) => (line) => {
      inner(line);
      if (line.event === 'server_state') {
        void record(
          {
            type: 'server.state',
            server: line.server,
            state: line.state,
            detail: line.detail,
            thread_id: line.thread_id,
            parent_thread_id: line.parent_thread_id ?? null,
          },
          true,
        );
      }
      if (line.event === 'notification_dropped') {
        void record(
          {
            type: 'notification.dropped',
            server: line.server,
            method: line.state,
            reason: line.detail ?? '',
            thread_id: line.thread_id,
            parent_thread_id: line.parent_thread_id ?? null,
          },
          true,
        );
      }
    },
    close,
  };
}

export type { GatewayRef };
