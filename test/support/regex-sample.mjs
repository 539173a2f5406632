// Helpers for generating strings from our detector patterns (randexp cannot do lookarounds).

/**
 * A regex source without its lookarounds (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`), for generating
 * sample strings (randexp cannot); escapes and character classes are respected.
 * @param {string} source
 */
export function stripLookarounds(source) {
  let out = '';
  for (let i = 0; i < source.length;) {
    if (/^\(\?<?[=!]/.test(source.slice(i, i + 4))) {
      let depth = 0;
      let inClass = false;
      for (; i < source.length; i += 1) {
        const ch = source[i];
        if (ch === '\\') {
          i += 1;
          continue;
        }
        if (inClass) {
          if (ch === ']') inClass = false;
          continue;
        }
        if (ch === '[') inClass = true;
        else if (ch === '(') depth += 1;
        else if (ch === ')' && --depth === 0) {
          i += 1;
          break;
        }
      }
      continue;
    }
    if (source[i] === '\\') {
      out += source.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (source[i] === '[') {
      const close = classEnd(source, i);
      out += source.slice(i, close);
      i = close;
      continue;
    }
    out += source[i];
    i += 1;
  }
  return out;
}

function classEnd(source, start) {
  for (let i = start + 1; i < source.length; i += 1) {
    if (source[i] === '\\') i += 1;
    else if (source[i] === ']' && i > start + 1) return i + 1;
  }
  return source.length;
}
