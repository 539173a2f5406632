/**
 * Finds the values of a JSON text that sit under admin-named field paths, without parsing it
 * into objects: the values are then masked in place and the text keeps its exact formatting.
 * One pass with an explicit stack, so deep nesting cannot overflow the call stack.
 */

/** A leaf value (string, number, true/false/null) under a matched path. */
export interface JsonLeafSpan {
  /** Offsets in the text; strings include their quotes. */
  start: number;
  end: number;
  type: 'string' | 'number' | 'literal';
  /** The admin pattern that matched (this path or an enclosing one). */
  rule: string;
}

export type JsonScan =
  | { kind: 'ok'; leaves: JsonLeafSpan[] }
  | { kind: 'not_json' }
  | { kind: 'too_deep'; depth: number };

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Scans a JSON object or array. `ruleFor(path)` names the field pattern a key path (indices left
 * out) matches, or null; everything under a matched path is reported. Work is linear in the
 * text times the nesting depth, which is capped by `maxDepth` (deeper text: `too_deep`).
 */
export function findFieldValues(
  text: string,
  ruleFor: (path: readonly string[]) => string | null,
  maxDepth = 128,
): JsonScan {
  let i = skipWs(text, 0);
  const first = text.charCodeAt(i);
  if (first !== 0x7b && first !== 0x5b) return { kind: 'not_json' };
  const leaves: JsonLeafSpan[] = [];
  const stack: { object: boolean; path: string[]; rule: string | null }[] = [];
  let key = '';

  const childPath = () => {
    const top = stack[stack.length - 1];
    if (!top) return { path: [] as string[], inherited: null };
    return { path: top.object ? [...top.path, key] : top.path, inherited: top.rule };
  };
  const ruleAt = (path: string[], inherited: string | null) =>
    inherited ?? (path.length > 0 ? ruleFor(path) : null);
  /** After `{` or `,` in an object: a key and a colon. */
  const readKey = (): boolean => {
    const k = readString(text, i);
    if (!k) return false;
    key = k.value;
    i = skipWs(text, k.end);
    if (text.charCodeAt(i) !== 0x3a) return false;
    i += 1;
    return true;
  };

  let expectValue = true;
  for (;;) {
    i = skipWs(text, i);
    if (i >= text.length) return { kind: 'not_json' };
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (!expectValue) {
      if (c === 0x2c && top) {
        i = skipWs(text, i + 1);
        if (top.object && !readKey()) return { kind: 'not_json' };
        expectValue = true;
        continue;
      }
      if (top && c === (top.object ? 0x7d : 0x5d)) {
        stack.pop();
        i += 1;
        if (stack.length === 0)
          return skipWs(text, i) === text.length ? { kind: 'ok', leaves } : { kind: 'not_json' };
        continue;
      }
      return { kind: 'not_json' };
    }
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) return { kind: 'too_deep', depth: stack.length + 1 };
      const { path, inherited } = childPath();
      stack.push({ object: c === 0x7b, path, rule: ruleAt(path, inherited) });
      i = skipWs(text, i + 1);
      if (text.charCodeAt(i) === (c === 0x7b ? 0x7d : 0x5d)) {
        expectValue = false; // empty container: the close is handled above
        continue;
      }
      if (c === 0x7b && !readKey()) return { kind: 'not_json' };
      continue;
    }
    if (!top) return { kind: 'not_json' };
    let end: number;
    let type: JsonLeafSpan['type'];
    if (c === 0x22) {
      const s = readString(text, i);
      if (!s) return { kind: 'not_json' };
      end = s.end;
      type = 'string';
    } else {
      end = readScalar(text, i);
      if (end === i) return { kind: 'not_json' };
      type = c === 0x74 || c === 0x66 || c === 0x6e ? 'literal' : 'number';
    }
    const { path, inherited } = childPath();
    const rule = ruleAt(path, inherited);
    if (rule) leaves.push({ start: i, end, type, rule });
    i = end;
    expectValue = false;
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text.charCodeAt(i))) i += 1;
  return i;
}

/** A JSON string at `i`: its decoded value and the offset after its closing quote. */
function readString(text: string, i: number): { value: string; end: number } | null {
  if (text.charCodeAt(i) !== 0x22) return null;
  let j = i + 1;
  let escapes = false;
  for (; j < text.length; j += 1) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) {
      escapes = true;
      j += 1;
    } else if (c === 0x22) break;
    else if (c < 0x20) return null;
  }
  if (j >= text.length) return null;
  if (!escapes) return { value: text.slice(i + 1, j), end: j + 1 };
  try {
    return { value: JSON.parse(text.slice(i, j + 1)) as string, end: j + 1 };
  } catch {
    return null;
  }
}

const SCALAR = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null/y;

function readScalar(text: string, i: number): number {
  SCALAR.lastIndex = i;
  const m = SCALAR.exec(text);
  return m ? i + m[0].length : i;
}
