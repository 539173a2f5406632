/**
 * RFC 8785 (JSON Canonicalization Scheme): the byte form every audit hash is taken over, so
 * key order, whitespace and number spelling can never change a hash. Object keys are sorted by
 * UTF-16 code units; strings and numbers are serialised as ECMAScript's JSON.stringify does
 * (which is what RFC 8785 specifies). Values JSON cannot carry are refused, not dropped.
 *
 * One JSON.stringify over the value itself where its objects already list their keys in that
 * order; only objects out of order are copied (shallow, sorted), not the whole value. What a
 * copy cannot carry — array-index keys, which JavaScript orders numerically ("9" before "10"),
 * an own "__proto__" — and anything that is not JSON go to a careful serialiser instead, which
 * also raises the errors.
 */
export function canonicalJson(value: unknown): string {
  const view = value === undefined || inheritedKeys() ? CAREFUL : ordered(value, 0);
  return view === CAREFUL ? careful(value, 0) : JSON.stringify(view);
}

/**
 * Whether `for…in` over a plain object would also list inherited keys (someone made a property
 * of Object.prototype enumerable): then the fast path, which walks keys with `for…in` because
 * it allocates nothing, would not see what Object.keys sees.
 */
function inheritedKeys(): boolean {
  for (const _ in {}) return true;
  return false;
}

/** Deeper than this is refused: a cycle, or nothing a person meant to record. */
const MAX_DEPTH = 512;

/** `ordered` could not make a value JSON.stringify writes canonically. */
const CAREFUL = Symbol('careful');

/**
 * `value` as JSON.stringify writes canonically: `value` itself when it already is (no
 * allocation), else a copy sharing every part that is. Only plain objects and arrays are passed
 * through (nothing with a toJSON for JSON.stringify to call); members JSON.stringify would drop
 * or write differently (functions, symbols, bigints, non-finite numbers) give CAREFUL.
 */
function ordered(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined': // an absent member, or a null array item: the same to JSON.stringify
      return value;
    case 'number':
      return Number.isFinite(value) ? value : CAREFUL;
    case 'object':
      if (value === null) return value;
      if (depth > MAX_DEPTH) return CAREFUL;
      return Array.isArray(value) ? orderedArray(value, depth) : orderedObject(value, depth);
    default:
      return CAREFUL;
  }
}

function orderedArray(array: unknown[], depth: number): unknown {
  const plain =
    Object.getPrototypeOf(array) === Array.prototype &&
    (array as { toJSON?: unknown }).toJSON === undefined;
  let copy: unknown[] | null = plain ? null : new Array<unknown>(array.length);
  for (let i = 0; i < array.length; i++) {
    const item: unknown = array[i];
    const view = ordered(item, depth + 1);
    if (view === CAREFUL) return CAREFUL;
    if (copy === null && view !== item) {
      copy = new Array<unknown>(array.length);
      for (let j = 0; j < i; j++) copy[j] = array[j];
    }
    if (copy !== null) copy[i] = view;
  }
  return copy ?? array;
}

function orderedObject(value: object, depth: number): unknown {
  const record = value as Record<string, unknown>;
  const prototype: unknown = Object.getPrototypeOf(value);
  if ((prototype === Object.prototype || prototype === null) && keysInOrder(record)) {
    // Keys in order: the object stays as it is unless a member had to be copied.
    let copy: Record<string, unknown> | null = null;
    for (const key in record) {
      const item = record[key];
      const view = ordered(item, depth + 1);
      if (view === CAREFUL) return CAREFUL;
      if (copy === null && view !== item) {
        if (key === '__proto__') return CAREFUL;
        copy = {};
        for (const earlier in record) {
          if (earlier === key) break;
          if (earlier === '__proto__') return CAREFUL;
          copy[earlier] = record[earlier];
        }
      }
      if (copy !== null) {
        if (key === '__proto__') return CAREFUL;
        copy[key] = view;
      }
    }
    return copy ?? value;
  }
  // Default sort compares UTF-16 code units, which is the order RFC 8785 requires.
  const copy: Record<string, unknown> = {};
  for (const key of sortedKeys(record)) {
    const item = record[key];
    if (item === undefined) continue;
    const view = ordered(item, depth + 1);
    if (view === CAREFUL || key === '__proto__') return CAREFUL;
    copy[key] = view;
  }
  // Array-index keys go first in numeric order whatever the insertion order.
  return keysInOrder(copy) ? copy : CAREFUL;
}

/**
 * The object's keys in UTF-16 code-unit order (what `<` compares, like the default sort). An
 * insertion sort for the few keys objects usually have: measured, it took ~1.3 µs off an audit
 * event's ~6.5. The built-in sort beyond that, where insertion sort's n² would show.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length > 24) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > key; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = key;
  }
  return keys;
}

/** Whether the object's keys, in property order, are in UTF-16 code-unit order. */
function keysInOrder(record: Record<string, unknown>): boolean {
  let previous: string | null = null;
  for (const key in record) {
    if (previous !== null && !(previous < key)) return false;
    previous = key;
  }
  return true;
}

/** The canonical text written by hand: slower, but independent of JavaScript's key ordering. */
function careful(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (depth > MAX_DEPTH) throw new TypeError('canonical JSON: nested more than 512 levels');
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          items.push(item === undefined ? 'null' : careful(item, depth + 1));
        }
        return `[${items.join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item !== undefined) members.push(`${JSON.stringify(key)}:${careful(item, depth + 1)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}
