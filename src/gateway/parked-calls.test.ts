import { describe, expect, test } from 'vitest';
import type { GatewayResponse } from '../pipeline/context.js';
import { PARKED_INPUT_KEY, ParkedCalls } from './parked-calls.js';

/** An upstream call that asks one question and then answers with what it was told. */
function upstreamCall(parked: ParkedCalls, server: string) {
  let finish: (r: GatewayResponse) => void = () => undefined;
  const response = new Promise<GatewayResponse>((r) => (finish = r));
  const ask = () => parked.hold(server, { method: 'elicitation/create', params: { message: 'q' } });
  return { response, finish, ask };
}

const idOf = (r: GatewayResponse) => {
  if (!('result' in r)) throw new Error(JSON.stringify(r));
  return String(r.result.requestState).replace('gatehouse-parked:', '');
};

describe('parked calls', () => {
  test('a question parks the call; the answer resumes it; the result comes back', async () => {
    const parked = new ParkedCalls();
    const call = upstreamCall(parked, 'conf');
    const first = parked.start('conf', 'alice', call.response);
    const answered = call.ask();
    expect(answered).not.toBeNull();
    const asked = await first;
    expect(asked).toMatchObject({
      result: {
        resultType: 'input_required',
        inputRequests: { [PARKED_INPUT_KEY]: { method: 'elicitation/create' } },
      },
    });
    const resumed = parked.resume(idOf(asked), 'alice', { action: 'accept' });
    expect(await answered).toEqual({ action: 'accept' });
    call.finish({ result: { content: [] } });
    expect(await resumed).toEqual({ result: { content: [] } });
  });

  test('another caller cannot resume it, and an id resumes once', async () => {
    const parked = new ParkedCalls();
    const call = upstreamCall(parked, 'conf');
    const first = parked.start('conf', 'alice', call.response);
    void call.ask()?.catch(() => undefined);
    const id = idOf(await first);
    expect(await parked.resume(id, 'mallory', { action: 'accept' })).toMatchObject({
      error: { data: { reason: 'expired' } },
    });
    void parked.resume(id, 'alice', { action: 'accept' });
    expect(await parked.resume(id, 'alice', { action: 'accept' })).toMatchObject({
      error: { data: { reason: 'expired' } },
    });
  });

  test('a question with two calls in flight to the server is not guessed at (null)', () => {
    const parked = new ParkedCalls();
    const a = upstreamCall(parked, 'conf');
    const b = upstreamCall(parked, 'conf');
    void parked.start('conf', 'alice', a.response);
    void parked.start('conf', 'alice', b.response);
    expect(a.ask()).toBeNull();
    expect(parked.hold('other', { method: 'roots/list' })).toBeNull();
  });

  test('per caller bound: past it the question is refused to the upstream, the call goes on', async () => {
    const parked = new ParkedCalls({ perCaller: 1, total: 10, ttlMs: 60_000 });
    const one = upstreamCall(parked, 'conf');
    const first = parked.start('conf', 'alice', one.response);
    void one.ask()?.catch(() => undefined);
    await first;
    const two = upstreamCall(parked, 'conf');
    const second = parked.start('conf', 'alice', two.response);
    await expect(two.ask()).rejects.toThrow(/already has 1 calls waiting/);
    two.finish({ result: { content: [{ type: 'text', text: 'gave up' }] } });
    expect(await second).toMatchObject({ result: { content: [{ text: 'gave up' }] } });
  });

  test('an unanswered question expires: refused to the upstream, the id no longer resumes', async () => {
    const parked = new ParkedCalls({ perCaller: 4, total: 10, ttlMs: 1 });
    const call = upstreamCall(parked, 'conf');
    const first = parked.start('conf', 'alice', call.response);
    const answered = call.ask();
    const id = idOf(await first);
    await expect(answered).rejects.toThrow(/did not answer in time/);
    expect(await parked.resume(id, 'alice', { action: 'accept' })).toMatchObject({
      error: { data: { reason: 'expired' } },
    });
  });
});
