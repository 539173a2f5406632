/**
 * Checks over what records say (beyond the chain that links them). The verifier shows each check
 * the records of the types it names, in sequence order, and collects its findings at the end; a
 * new check is one class here (or in its own module) and one line in `defaultRecordChecks()`.
 */

/** Something the verifier reports beside the chain's integrity. */
export interface VerifyFinding {
  /** Stable, for scripts: `unanchored_tail`, `no_checkpoint`, `intent_without_result`, … */
  kind: string;
  /** The first record it concerns. */
  seq: number | null;
  message: string;
  /** True when the finding itself shows tampering (exit 9), not only missing evidence. */
  broken?: boolean;
}

/** One content check. Pure and streaming: it keeps only what it needs between records. */
export interface RecordCheck {
  readonly name: string;
  /** The record types it reads (the verifier shows it no others). */
  readonly types: readonly string[];
  /**
   * Types of which it reads only the writing gateway (`body` may then be `{"gateway":{…}}`
   * alone): lets a large store's content pass skip most of the bytes of call intents.
   */
  readonly gatewayOnly?: readonly string[];
  /** One record that verified: its seq, type and call_id columns and canonical JSON body. */
  record(seq: number, type: string, callId: string | null, body: string): void;
  /** What it found, once every record was read. */
  finish(): VerifyFinding[];
}

/**
 * The gateway instance that wrote a record, from its canonical body without parsing it: the
 * last `"instance":"…"` key. Canonical JSON sorts keys, and in intents and stops nothing after
 * `gateway` has an `instance` key (a string's own quotes are escaped, so cannot match).
 */
function instanceOf(body: string): string | null {
  const at = body.lastIndexOf('"instance":"');
  if (at < 0) return null;
  const start = at + '"instance":"'.length;
  const end = body.indexOf('"', start);
  return end < 0 ? null : body.slice(start, end);
}

const LISTED = 10;

/**
 * A call whose intent was recorded but whose result never was: the gateway died after
 * forwarding, or the store refused the result. Reported (never silently OK), split by whether
 * the session that made the call has ended (its `gateway.stop` follows: the result is lost) or
 * not (no stop record: the gateway crashed, or is still running).
 */
export class IntentResultCheck implements RecordCheck {
  readonly name = 'intent-result';
  readonly types = ['call.intent', 'call.result', 'gateway.stop'] as const;
  readonly gatewayOnly = ['call.intent', 'call.result', 'gateway.stop'] as const;
  private readonly open = new Map<string, { seq: number; instance: string | null }>();
  private readonly stopped = new Map<string, number>();

  record(seq: number, type: string, callId: string | null, body: string): void {
    if (type === 'call.intent') {
      if (callId !== null) this.open.set(callId, { seq, instance: instanceOf(body) });
    } else if (type === 'call.result') {
      if (callId !== null) this.open.delete(callId);
    } else {
      const instance = instanceOf(body);
      if (instance !== null) this.stopped.set(instance, seq);
    }
  }

  finish(): VerifyFinding[] {
    if (this.open.size === 0) return [];
    const ended: number[] = [];
    const running: number[] = [];
    for (const { seq, instance } of this.open.values()) {
      const stop = instance === null ? undefined : this.stopped.get(instance);
      (stop !== undefined && stop > seq ? ended : running).push(seq);
    }
    const list = (seqs: number[]) =>
      `${seqs.slice(0, LISTED).join(', ')}${seqs.length > LISTED ? `, … (${seqs.length - LISTED} more)` : ''}`;
    const parts: string[] = [];
    if (ended.length > 0)
      parts.push(
        `${ended.length} in sessions that ended (their results were lost: the store refused them or the gateway died while answering): record(s) ${list(ended)}`,
      );
    if (running.length > 0)
      parts.push(
        `${running.length} in sessions with no stop record (the gateway was killed, or is still running and answering): record(s) ${list(running)}`,
      );
    const first = Math.min(...ended.slice(0, 1), ...running.slice(0, 1));
    return [
      {
        kind: 'intent_without_result',
        seq: first,
        message: `intent without result: ${this.open.size} call(s) were recorded as forwarded but their result never was — ${parts.join('; ')}`,
      },
    ];
  }
}
