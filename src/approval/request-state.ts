/**
 * Gatehouse's sealed `requestState` for MCP 2026-07-28 multi-round-trip requests (SEP-2322).
 *
 * A modern client is asked for input by an `input_required` result and retries the same request
 * with its answers and the opaque `requestState` echoed byte for byte. That string comes back as
 * attacker-controlled input, and here it carries authorization (an approval being answered, an
 * approval already granted, an upstream's own state), so it is sealed:
 *
 *   - AES-256-GCM (integrity AND confidentiality: the payload names approval ids, the caller and
 *     an upstream's own state, none of which a client needs to read), with a random 96-bit nonce;
 *   - under a key derived with HKDF-SHA256 from the gateway's HMAC key (the one every replica of
 *     a team gateway shares), domain-separated, never the raw key;
 *   - versioned (`ghrs1.` prefix and `v` inside), with an expiry;
 *   - bound to the caller (principal and issuer over HTTP, OS user over stdio, the client's name)
 *     and to the call (method, server, tool/prompt/resource, a keyed hash of the exact arguments);
 *   - with a random id, so the stage can make it single use (the claim store, not this module).
 *
 * PURE apart from the system's random numbers and clock, both injectable. Verification fails
 * closed, compares bindings in constant time, and says WHAT failed (malformed, tampered, expired,
 * not for this caller, not for this call) without ever echoing the payload.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';

/** The wire prefix: a state of another format or version is refused as malformed, not tried. */
export const REQUEST_STATE_PREFIX = 'ghrs1.';
const VERSION = 1;
/** The AEAD's associated data: binds the ciphertext to this format and purpose. */
const AAD = Buffer.from('gatehouse request-state v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest state accepted (and sealed): an upstream's own state rides inside, bounded. */
export const REQUEST_STATE_MAX_CHARS = 256 * 1024;

/** The two sub-keys: one for the AEAD, one for the keyed hashes of caller and call. */
export interface RequestStateKey {
  readonly seal: Buffer;
  readonly bind: Buffer;
}

/**
 * Derives the request-state keys from the gateway's HMAC key (`$GATEHOUSE_HOME/audit/hmac.key`,
 * the same file on every replica). HKDF with its own info strings: the HMAC key itself is never
 * used for this, so an argument hash and a state cannot be confused. Refuses a short or all-zero
 * key (what a gateway whose keys could not be loaded holds): a known key would make states
 * forgeable.
 */
export function deriveRequestStateKey(root: Buffer): RequestStateKey {
  if (root.length < 32)
    throw new Error('the request-state key needs a root key of at least 32 bytes');
  if (root.every((b) => b === 0))
    throw new Error('the request-state key cannot be derived from an all-zero key');
  const sub = (info: string) =>
    Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), Buffer.from(info), 32));
  return {
    seal: sub('gatehouse/mcp-request-state/v1/aes-256-gcm'),
    bind: sub('gatehouse/mcp-request-state/v1/binding'),
  };
}

/** Who a state is for: the caller as Gatehouse identified it. */
export interface StateCaller {
  /** `user:SUB`, `service:SUB`, `token:HASH` (HTTP) or `os:NAME` (stdio); null when unknown. */
  principal: string | null;
  /** The verified token's issuer (HTTP with identity), else null. */
  issuer: string | null;
  /** The OS user running a stdio client, else null. */
  osUser: string | null;
  /** The client's name (clientInfo), else null. */
  client: string | null;
}

/** What a state is for: exactly this request. */
export interface StateCall {
  method: string;
  server: string;
  /** The tool or prompt (raw name on its server) or resource URI; null when none. */
  target: string | null;
  /** A keyed hash of the exact arguments (`callBinding`). */
  arguments: string;
}

/**
 * What Gatehouse keeps across rounds. `approval`: the approval this state asks for
 * (`granted: false`, the answer is expected under APPROVAL_INPUT_KEY) or one already granted for
 * this exact call in an earlier round (`granted: true`). `upstream`: an upstream's own
 * `input_required` — its `requestState` (verbatim), the keys it asked for as the client sees them
 * → as the upstream named them, and answers already given that wait for Gatehouse's own question.
 * `parked`: a legacy upstream's server→client request held open (see docs/architecture.md).
 */
export interface RequestStatePayload {
  approval?: { id: string; binding: string; level: string; granted: boolean };
  upstream?: {
    state: string | null;
    keys: Record<string, string>;
    responses?: Record<string, unknown>;
  };
  parked?: { id: string; key: string };
}

interface SealedBody {
  v: number;
  /** The state's id: what single use is keyed by. */
  n: string;
  iat: number;
  exp: number;
  caller: string;
  call: string;
  p: RequestStatePayload;
}

export type RequestStateProblem =
  'malformed' | 'tampered' | 'expired' | 'other_caller' | 'other_call' | 'replayed';

export type OpenedState =
  | { ok: true; id: string; expiresAt: number; payload: RequestStatePayload }
  | { ok: false; problem: RequestStateProblem; message: string };

/** Messages name the failure and what to do; never the state's content. */
export const REQUEST_STATE_MESSAGES: Record<RequestStateProblem, string> = {
  malformed: 'the requestState is not one Gatehouse issued (wrong format or version)',
  tampered:
    'the requestState failed its integrity check (changed, truncated, or sealed under another key)',
  expired: 'the requestState has expired; make the call again without it to start over',
  other_caller: 'the requestState was issued to another caller',
  other_call:
    'the requestState was issued for another call (a different method, server, tool or arguments)',
  replayed: 'the requestState was already used; make the call again without it to start over',
};

/**
 * A keyed hash of exactly what a call asks for (method, server, target, canonical arguments),
 * under the state's binding key: a retry with other arguments has another hash.
 */
export function callBinding(
  key: RequestStateKey,
  call: { method: string; server: string; target: string | null; args: unknown },
): string {
  return tag(key, 'call-arguments', {
    method: call.method,
    server: call.server,
    target: call.target,
    arguments: call.args ?? null,
  });
}

function tag(key: RequestStateKey, kind: string, value: unknown): string {
  return createHmac('sha256', key.bind)
    .update(kind)
    .update('\0')
    .update(canonicalJson(value))
    .digest('base64url');
}

function callerTag(key: RequestStateKey, caller: StateCaller): string {
  return tag(key, 'caller', {
    principal: caller.principal,
    issuer: caller.issuer,
    os_user: caller.osUser,
    client: caller.client,
  });
}

function callTag(key: RequestStateKey, call: StateCall): string {
  return tag(key, 'call', call);
}

/** Seals a payload for this caller and call; throws when it is too large to carry. */
export function sealRequestState(
  key: RequestStateKey,
  input: {
    caller: StateCaller;
    call: StateCall;
    payload: RequestStatePayload;
    ttlMs: number;
    now?: number;
    random?: (bytes: number) => Buffer;
  },
): { state: string; id: string; expiresAt: number } {
  const now = input.now ?? Date.now();
  const random = input.random ?? randomBytes;
  const body: SealedBody = {
    v: VERSION,
    n: random(16).toString('base64url'),
    iat: now,
    exp: now + input.ttlMs,
    caller: callerTag(key, input.caller),
    call: callTag(key, input.call),
    p: input.payload,
  };
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.seal, iv);
  cipher.setAAD(AAD);
  const sealed = Buffer.concat([
    iv,
    cipher.update(Buffer.from(JSON.stringify(body))),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  const state = REQUEST_STATE_PREFIX + sealed.toString('base64url');
  if (state.length > REQUEST_STATE_MAX_CHARS)
    throw new Error(
      `the request state would be ${state.length} characters, over the ${REQUEST_STATE_MAX_CHARS} Gatehouse carries`,
    );
  return { state, id: body.n, expiresAt: body.exp };
}

/**
 * Opens a state for this caller and call, in this order: format, integrity (the AEAD tag: a
 * changed byte, a wrong key), version, expiry, caller, call. The first failure is the answer.
 */
export function openRequestState(
  key: RequestStateKey,
  state: unknown,
  expect: { caller: StateCaller; call: StateCall; now?: number },
): OpenedState {
  const fail = (problem: RequestStateProblem): OpenedState => ({
    ok: false,
    problem,
    message: REQUEST_STATE_MESSAGES[problem],
  });
  if (
    typeof state !== 'string' ||
    state.length > REQUEST_STATE_MAX_CHARS ||
    !state.startsWith(REQUEST_STATE_PREFIX)
  )
    return fail('malformed');
  const text = state.slice(REQUEST_STATE_PREFIX.length);
  const bytes = Buffer.from(text, 'base64url');
  // Node's decoder skips characters it does not know and ignores spare bits: only the one
  // canonical spelling of the bytes is accepted, so no changed character goes unnoticed.
  if (bytes.toString('base64url') !== text) return fail('tampered');
  if (bytes.length < IV_BYTES + TAG_BYTES + 2) return fail('tampered');
  let body: SealedBody;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.seal, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(AAD);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
    body = JSON.parse(plain.toString('utf8')) as SealedBody;
  } catch {
    return fail('tampered');
  }
  if (
    !body ||
    body.v !== VERSION ||
    typeof body.n !== 'string' ||
    typeof body.exp !== 'number' ||
    typeof body.caller !== 'string' ||
    typeof body.call !== 'string'
  )
    return fail('malformed');
  if ((expect.now ?? Date.now()) >= body.exp) return fail('expired');
  if (!sameTag(body.caller, callerTag(key, expect.caller))) return fail('other_caller');
  if (!sameTag(body.call, callTag(key, expect.call))) return fail('other_call');
  return { ok: true, id: body.n, expiresAt: body.exp, payload: body.p ?? {} };
}

/** Constant-time equality of two tags (lengths are public: both are fixed-size hashes). */
function sameTag(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a string looks like a state Gatehouse sealed (its prefix), without opening it. */
export function isGatehouseState(state: unknown): boolean {
  return typeof state === 'string' && state.startsWith(REQUEST_STATE_PREFIX);
}

/**
 * Single use: a state that was answered once is refused when it comes back. `claim` says whether
 * this is the first use of `id` (and remembers it until `expiresAt`, after which the state is
 * refused as expired anyway).
 */
export interface StateClaims {
  claim(id: string, expiresAt: number): Promise<boolean>;
}

/**
 * Claims kept in this process only: correct for one gateway process; behind several replicas a
 * state could be replayed once per replica, so a gateway with a shared store uses the store's
 * claims (`ApprovalQueue.claimState`). Bounded: past `max` live entries the oldest are dropped
 * (a dropped state can be replayed until it expires, so `max` is large).
 */
export function memoryStateClaims(max = 100_000, clock: () => number = Date.now): StateClaims {
  const used = new Map<string, number>();
  return {
    async claim(id, expiresAt) {
      const now = clock();
      for (const [k, exp] of used) {
        if (exp > now && used.size < max) break;
        if (exp <= now || used.size >= max) used.delete(k);
      }
      if (used.has(id)) return false;
      used.set(id, expiresAt);
      return true;
    },
  };
}
