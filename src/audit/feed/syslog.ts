import type { ShipBatch, ShippedRecord } from './batch.js';

/**
 * RFC 5424 syslog messages for audit records, framed by octet counting (RFC 6587 §3.4.1:
 * `LENGTH SP MESSAGE`) as syslog over TCP and TLS (RFC 5425) carry them. Facility 13 (log
 * audit); severity warning for refusals, informational otherwise. The structured data carries
 * the chain position (`seq`, `hash`, `prev`, store) so the receiver can check nothing was
 * dropped; the message is the record's (masked) event as JSON.
 */
export const SD_ID = 'gatehouse@32473';
const FACILITY_LOG_AUDIT = 13;

function sdEscape(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** PRINTUSASCII, no spaces, at most `max` characters: RFC 5424 header fields. */
function headerField(value: string | null | undefined, max: number): string {
  const clean = (value ?? '').replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

function severityOf(record: ShippedRecord): number {
  const outcome = record.columns.outcome;
  const decision = record.columns.decision;
  return outcome === 'denied' || decision === 'deny' ? 4 : 6;
}

export function syslogMessage(record: ShippedRecord, storeId: string, hostname: string): string {
  const pri = FACILITY_LOG_AUDIT * 8 + severityOf(record);
  const msgid = headerField(record.columns.type, 32);
  const sd = `[${SD_ID} seq="${record.seq}" hash="${record.hash}" prev="${record.prev}" store="${sdEscape(storeId)}"]`;
  return `<${pri}>1 ${record.ts} ${headerField(hostname, 255)} gatehouse - ${msgid} ${sd} \uFEFF${JSON.stringify(record.event)}`;
}

/** One frame: the message's length in octets (UTF-8), a space, the message. */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

export function syslogFrames(batch: ShipBatch, hostname: string): Buffer {
  return Buffer.from(
    batch.records.map((r) => octetFrame(syslogMessage(r, batch.store_id, hostname))).join(''),
    'utf8',
  );
}

/**
 * Splits an octet-counted stream into messages; returns the messages and the bytes of an
 * unfinished frame at the end (for a receiver reading a socket). Throws on a bad length.
 */
export function parseOctetFrames(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let at = 0;
  while (at < buffer.length) {
    const space = buffer.indexOf(0x20, at);
    if (space === -1) break;
    const lengthText = buffer.subarray(at, space).toString('ascii');
    if (!/^[1-9][0-9]{0,8}$/.test(lengthText))
      throw new Error(`not an octet-counted frame at byte ${at}: '${lengthText.slice(0, 12)}'`);
    const end = space + 1 + Number(lengthText);
    if (end > buffer.length) break;
    messages.push(buffer.subarray(space + 1, end).toString('utf8'));
    at = end;
  }
  return { messages, rest: buffer.subarray(at) };
}
