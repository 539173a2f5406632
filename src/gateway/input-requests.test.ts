import { describe, expect, test } from 'vitest';
import { isInputRequired, readInputRequired, retryParams } from './input-requests.js';

const elicit = { method: 'elicitation/create', params: { message: 'ok?', requestedSchema: {} } };

describe('readInputRequired', () => {
  test('reads the requests and the state as they are', () => {
    expect(
      readInputRequired(
        { resultType: 'input_required', inputRequests: { a: elicit }, requestState: ' s\u00e9 ' },
        { elicitation: {} },
      ),
    ).toEqual({ inputRequests: { a: elicit }, requestState: ' s\u00e9 ' });
  });

  test.each([
    [{ inputRequests: { a: { method: 'tools/call' } } }, { elicitation: {} }, 'none of'],
    [{ inputRequests: { a: elicit } }, {}, "did not declare the 'elicitation' capability"],
    [
      { inputRequests: { r: { method: 'roots/list' } } },
      { elicitation: {} },
      "did not declare the 'roots' capability",
    ],
    [{ inputRequests: { a: 'x' } }, null, 'not an embedded request'],
    [{ inputRequests: [] }, null, 'not an object'],
    [{ requestState: 5 }, null, 'requestState is not a string'],
    [{}, null, 'neither inputRequests nor requestState'],
    [{ inputRequests: { a: { method: 'roots/list', params: 3 } } }, null, 'params'],
  ])('%j with capabilities %j is refused: %s', (result, caps, reason) => {
    const read = readInputRequired(result, caps);
    expect('refusal' in read && read.refusal).toContain(reason);
  });

  test('state alone is a valid round (no questions)', () => {
    expect(readInputRequired({ requestState: 'x' }, null)).toEqual({
      inputRequests: {},
      requestState: 'x',
    });
  });
});

describe('retryParams', () => {
  test('the original params plus the answers and the state; what the client sent itself is dropped', () => {
    expect(
      retryParams(
        { name: 't', arguments: { a: 1 }, requestState: 'forged', inputResponses: { x: 1 } },
        { a: { action: 'accept' } },
        'real',
      ),
    ).toEqual({
      name: 't',
      arguments: { a: 1 },
      inputResponses: { a: { action: 'accept' } },
      requestState: 'real',
    });
    expect(retryParams({ name: 't', requestState: 'forged' }, {}, undefined)).toEqual({
      name: 't',
    });
  });
});

test('isInputRequired', () => {
  expect(isInputRequired({ resultType: 'input_required' })).toBe(true);
  expect(isInputRequired({ resultType: 'complete' })).toBe(false);
  expect(isInputRequired(null)).toBe(false);
});
