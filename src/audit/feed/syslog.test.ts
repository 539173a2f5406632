import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { ShippedRecord } from './batch.js';
import { octetFrame, parseOctetFrames, syslogMessage } from './syslog.js';

const record = (event: Record<string, unknown>, type = 'call.result'): ShippedRecord => ({
  seq: 7,
  ts: '2026-12-06T10:00:00.000Z',
  prev: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  columns: {
    type,
    server: null,
    target: null,
    decision: null,
    outcome: 'denied',
    thread_id: null,
    actor: null,
    call_id: null,
  },
  event,
});

test('octet-counted frames split back into the same messages, however the stream is cut', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: 'grapheme', minLength: 1 }), { minLength: 1, maxLength: 8 }),
      fc.nat(),
      (messages, cutSeed) => {
        const stream = Buffer.from(messages.map(octetFrame).join(''), 'utf8');
        const cut = cutSeed % (stream.length + 1);
        const first = parseOctetFrames(stream.subarray(0, cut));
        const second = parseOctetFrames(Buffer.concat([first.rest, stream.subarray(cut)]));
        expect([...first.messages, ...second.messages]).toEqual(messages);
        expect(second.rest.length).toBe(0);
      },
    ),
  );
});

test('a frame without a valid length is refused, naming where', () => {
  expect(() => parseOctetFrames(Buffer.from('abc hello'))).toThrow(/byte 0/);
  expect(() => parseOctetFrames(Buffer.from('05 hello'))).toThrow(/not an octet-counted frame/);
});

test('RFC 5424 header: PRI, version, fields without spaces, escaped structured data', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (type, storeId) => {
      const line = syslogMessage(record({ note: type }, type), storeId, 'host name');
      const m =
        /^<(\d+)>1 (\S+) (\S+) gatehouse - (\S+) \[gatehouse@32473 seq="7" hash="b{64}" prev="a{64}" store="((?:[^"\\\]]|\\["\\\]])*)"\] \uFEFF(.*)$/s.exec(
          line,
        );
      expect(m).not.toBeNull();
      expect(m?.[1]).toBe('108'); // log audit, warning: a refusal
      expect(m?.[4]?.length).toBeLessThanOrEqual(32);
      expect(JSON.parse(m?.[6] ?? '')).toEqual({ note: type });
    }),
  );
});
