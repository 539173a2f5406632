import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { StateCall, StateCaller } from './request-state.js';
import {
  REQUEST_STATE_PREFIX,
  callBinding,
  deriveRequestStateKey,
  memoryStateClaims,
  openRequestState,
  sealRequestState,
} from './request-state.js';

const ROOT = Buffer.alloc(32, 9);
const KEY = deriveRequestStateKey(ROOT);
const ALICE: StateCaller = {
  principal: 'user:alice',
  issuer: 'https://idp.example.com',
  osUser: null,
  client: 'codex',
};
const CALL: StateCall = {
  method: 'tools/call',
  server: 'pay',
  target: 'refund',
  arguments: callBinding(KEY, {
    method: 'tools/call',
    server: 'pay',
    target: 'refund',
    args: { amount: 5 },
  }),
};
const PAYLOAD = {
  approval: { id: 'a1', binding: 'b'.repeat(64), level: 'prompt', granted: false },
};
const NOW = 1_800_000_000_000;

function sealed(overrides: { ttlMs?: number; now?: number } = {}) {
  return sealRequestState(KEY, {
    caller: ALICE,
    call: CALL,
    payload: PAYLOAD,
    ttlMs: overrides.ttlMs ?? 60_000,
    now: overrides.now ?? NOW,
  });
}

const open = (
  state: unknown,
  expect: { caller?: StateCaller; call?: StateCall; now?: number; key?: typeof KEY } = {},
) =>
  openRequestState(expect.key ?? KEY, state, {
    caller: expect.caller ?? ALICE,
    call: expect.call ?? CALL,
    now: expect.now ?? NOW + 1000,
  });

describe('sealed requestState (AES-256-GCM, bound to caller and call)', () => {
  test('round trip: the payload comes back for the same caller and call, with its id and expiry', () => {
    const s = sealed();
    expect(s.state.startsWith(REQUEST_STATE_PREFIX)).toBe(true);
    const opened = open(s.state);
    expect(opened).toEqual({ ok: true, id: s.id, expiresAt: NOW + 60_000, payload: PAYLOAD });
  });

  test('the payload is not readable by the client (encrypted, not just signed)', () => {
    const s = sealed();
    const bytes = Buffer.from(s.state.slice(REQUEST_STATE_PREFIX.length), 'base64url');
    expect(bytes.toString('latin1')).not.toContain('user:alice');
    expect(bytes.toString('latin1')).not.toContain('a1');
    expect(s.state).not.toContain('refund');
  });

  const other = (changes: Partial<StateCaller>): StateCaller => ({ ...ALICE, ...changes });
  const otherCall = (changes: Partial<StateCall>): StateCall => ({ ...CALL, ...changes });
  test.each([
    ['another principal', { caller: other({ principal: 'user:mallory' }) }, 'other_caller'],
    ['another issuer', { caller: other({ issuer: 'https://evil.example' }) }, 'other_caller'],
    ['another OS user', { caller: other({ osUser: 'bob' }) }, 'other_caller'],
    ['another client', { caller: other({ client: 'claude-code' }) }, 'other_caller'],
    ['another method', { call: otherCall({ method: 'prompts/get' }) }, 'other_call'],
    ['another server', { call: otherCall({ server: 'bank' }) }, 'other_call'],
    ['another tool', { call: otherCall({ target: 'transfer' }) }, 'other_call'],
    [
      'other arguments',
      {
        call: otherCall({
          arguments: callBinding(KEY, {
            method: 'tools/call',
            server: 'pay',
            target: 'refund',
            args: { amount: 5000 },
          }),
        }),
      },
      'other_call',
    ],
    ['expired (at its expiry)', { now: NOW + 60_000 }, 'expired'],
    ['another key', { key: deriveRequestStateKey(Buffer.alloc(32, 8)) }, 'tampered'],
  ] as const)('refused: %s', (_name, expect_, problem) => {
    const opened = open(sealed().state, expect_);
    expect(opened).toMatchObject({ ok: false, problem });
    // The message names the failure, never the content.
    if (!opened.ok) {
      expect(opened.message).not.toMatch(/alice|refund|a1|pay/);
    }
  });

  test.each([
    ['not a string', 42, 'malformed'],
    ['another prefix', 'v1.abc.def', 'malformed'],
    ['empty body', REQUEST_STATE_PREFIX, 'tampered'],
    ['non-canonical base64 (a character the decoder skips)', null, 'tampered'],
    ['truncated', null, 'tampered'],
  ] as const)('refused: %s', (name, value, problem) => {
    const good = sealed().state;
    const state =
      value ??
      (name === 'truncated'
        ? good.slice(0, -4)
        : `${good.slice(0, 20)}!${good.slice(20)}`); /* '!' is no base64url character */
    expect(open(state)).toMatchObject({ ok: false, problem });
  });

  test('a well-sealed body of another version is refused as malformed', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', KEY.seal, iv);
    cipher.setAAD(Buffer.from('gatehouse request-state v1'));
    const body = Buffer.from(JSON.stringify({ v: 2, n: 'x', exp: NOW * 2, caller: '', call: '' }));
    const bytes = Buffer.concat([iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
    expect(open(REQUEST_STATE_PREFIX + bytes.toString('base64url'))).toMatchObject({
      ok: false,
      problem: 'malformed',
    });
  });

  test('property: any single changed character of the state is refused', () => {
    const { state } = sealed();
    fc.assert(
      fc.property(
        fc.nat({ max: state.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, code) => {
          const replacement = String.fromCharCode(code);
          fc.pre(replacement !== state[at]);
          const changed = state.slice(0, at) + replacement + state.slice(at + 1);
          expect(open(changed).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: any single flipped bit of the sealed bytes is refused as tampered', () => {
    const { state } = sealed();
    const bytes = Buffer.from(state.slice(REQUEST_STATE_PREFIX.length), 'base64url');
    fc.assert(
      fc.property(fc.nat({ max: bytes.length * 8 - 1 }), (bit) => {
        const copy = Buffer.from(bytes);
        copy[bit >> 3]! ^= 1 << (bit & 7);
        expect(open(REQUEST_STATE_PREFIX + copy.toString('base64url'))).toMatchObject({
          ok: false,
          problem: 'tampered',
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('property: a state opens only for the exact arguments it was sealed for', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const bind = (args: unknown) =>
          callBinding(KEY, { method: 'tools/call', server: 'pay', target: 'refund', args });
        const s = sealRequestState(KEY, {
          caller: ALICE,
          call: { ...CALL, arguments: bind(a) },
          payload: {},
          ttlMs: 1000,
          now: NOW,
        });
        const same = bind(a) === bind(b);
        const opened = open(s.state, { call: { ...CALL, arguments: bind(b) }, now: NOW });
        expect(opened.ok).toBe(same);
      }),
      { numRuns: 300 },
    );
  });

  test('two seals of the same payload differ (random nonce) and have different ids', () => {
    const a = sealed();
    const b = sealed();
    expect(a.state).not.toBe(b.state);
    expect(a.id).not.toBe(b.id);
  });

  test('the key is derived, never the root itself, and a zero or short root is refused', () => {
    expect(KEY.seal.equals(ROOT)).toBe(false);
    expect(KEY.bind.equals(KEY.seal)).toBe(false);
    expect(() => deriveRequestStateKey(Buffer.alloc(32))).toThrow(/all-zero/);
    expect(() => deriveRequestStateKey(Buffer.alloc(16, 1))).toThrow(/32 bytes/);
  });

  test('a payload too large to carry is refused when sealed', () => {
    expect(() =>
      sealRequestState(KEY, {
        caller: ALICE,
        call: CALL,
        payload: { upstream: { state: 'x'.repeat(300_000), keys: {} } },
        ttlMs: 1000,
      }),
    ).toThrow(/over the/);
  });
});

describe('single use (memory claims)', () => {
  test('the first claim wins, a replay loses; expired entries are forgotten', async () => {
    let now = 0;
    const claims = memoryStateClaims(10, () => now);
    expect(await claims.claim('s1', 100)).toBe(true);
    expect(await claims.claim('s1', 100)).toBe(false);
    now = 200;
    expect(await claims.claim('s2', 300)).toBe(true);
    // s1 expired: the state itself is refused as expired by then, so forgetting it is safe.
    expect(await claims.claim('s1', 300)).toBe(true);
  });
});
