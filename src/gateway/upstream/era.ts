/**
 * PURE: which MCP protocol era Gatehouse speaks to an upstream, and what to do when an attempt
 * fails. The SDK (`versionNegotiation`) runs the `server/discover` probe itself; what it cannot
 * decide is how Gatehouse's own transports recover, because they probe IN PLACE (the SDK's
 * sibling-process probe exists only for its own `StdioClientTransport`):
 *
 * - a legacy stdio server that EXITS on the unknown `server/discover` (some SDKs stop on any
 *   request before `initialize`) cost us the one process: respawn it once, straight to legacy;
 * - a server that answered a legacy `initialize` with UnsupportedProtocolVersion (-32022) is
 *   modern-only (it was slow, the probe timed out and fell back): try once more, modern;
 * - a streamable-HTTP POST refused with 400/404/405 may be a 2024-11-05 HTTP+SSE server: the
 *   existing SSE fallback (always legacy).
 *
 * Each connect has at most two attempts; the verdict is remembered per server identity for
 * the life of the process (connect.ts), so restarts skip the probe.
 */

/** `gatehouse_protocol_era` in a server's table: `auto` (default) probes, the others pin. */
export type EraSetting = 'auto' | 'legacy' | 'modern';
export const ERA_SETTINGS: readonly EraSetting[] = ['auto', 'legacy', 'modern'];

export type Era = 'legacy' | 'modern';

/** How one connect attempt talks: probe (`auto`), pinned era, or the 2024-11-05 SSE transport. */
export type AttemptMode = 'auto' | 'legacy' | 'modern' | 'sse';

/** What one failed attempt showed. */
export type AttemptFailure =
  /** stdio: the process was gone when the attempt failed (it exited on the probe, or crashed). */
  | 'process_exited'
  /** HTTP: the streamable POST was refused with 400, 404 or 405. */
  | 'http_rejected'
  /** The server refused the legacy handshake with UnsupportedProtocolVersion: it is modern-only. */
  | 'legacy_refused'
  /** Anything else (auth, network, timeout, a crash on a non-probing attempt): not an era matter. */
  | 'other';

export type EraStep =
  { kind: 'retry'; mode: AttemptMode; why: string } | { kind: 'fail'; hint: string | null };

/** The first attempt: a remembered verdict wins over probing; a pinned setting wins over both. */
export function firstAttempt(setting: EraSetting, remembered: Era | null): AttemptMode {
  if (setting !== 'auto') return setting;
  return remembered ?? 'auto';
}

/**
 * After a failed attempt: try again (and how), or give up. `attempts` counts the attempts made
 * so far; there is never a third.
 */
export function afterFailure(
  setting: EraSetting,
  transport: 'stdio' | 'http',
  mode: AttemptMode,
  failure: AttemptFailure,
  attempts: number,
): EraStep {
  if (attempts >= 2) return { kind: 'fail', hint: null };
  if (failure === 'process_exited' && transport === 'stdio' && mode === 'auto')
    return {
      kind: 'retry',
      mode: 'legacy',
      why: 'the server exited on the server/discover probe: started again as a legacy (2025-11-25) server',
    };
  if (failure === 'legacy_refused') {
    if (setting === 'legacy')
      return {
        kind: 'fail',
        hint: 'the server speaks only MCP 2026-07-28: set gatehouse_protocol_era = "auto" (or "modern") for it',
      };
    if (mode === 'auto' || mode === 'legacy')
      return {
        kind: 'retry',
        mode: 'modern',
        why: 'the server refused the legacy handshake: trying MCP 2026-07-28',
      };
  }
  if (
    failure === 'http_rejected' &&
    transport === 'http' &&
    setting !== 'modern' &&
    (mode === 'auto' || mode === 'legacy')
  )
    return {
      kind: 'retry',
      mode: 'sse',
      why: 'the server refused a streamable HTTP POST: trying HTTP+SSE (2024-11-05)',
    };
  return { kind: 'fail', hint: null };
}

/**
 * How long a stdio server may stay silent on `server/discover` before it is taken for a legacy
 * server that ignores unknown requests before `initialize`: half the startup budget, at most
 * 5 s. A modern server answers within its start time, which the other half of the budget (and
 * `initialize` + the first tools/list of a legacy server) must also fit in; 5 s caps what a
 * silent legacy server costs, once per process, since the verdict is remembered. A slow modern
 * server misjudged this way refuses the legacy `initialize` (-32022) and gets a modern retry.
 */
export function stdioProbeTimeoutMs(budgetMs: number): number {
  return Math.max(250, Math.min(5000, Math.floor(budgetMs / 2)));
}
