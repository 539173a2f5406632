import { findNodeAtLocation, parseTree, printParseErrorCode } from 'jsonc-parser';
import type { Node, ParseError } from 'jsonc-parser';
import type { Diagnostic, SourceLocation } from '../diagnostics/diagnostic.js';
import { maskJsonLine } from '../masking/mask-text.js';
import type { LocatedDocument } from './located-document.js';

/** A parsed JSON file that can say where any key of it was written. */
export interface JsonDocument extends LocatedDocument {
  value: unknown;
}

/** Parses strict JSON and keeps positions, so import errors name file, line and column. */
export function parseJsonDocument(
  text: string,
  file: string,
): { ok: true; doc: JsonDocument } | { ok: false; diagnostic: Diagnostic } {
  const lines = text.split(/\r?\n/);
  const lineStarts: number[] = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const toLoc = (offset: number): SourceLocation => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
  };
  const snippet = (loc: SourceLocation): string => {
    const raw = lines[loc.line - 1] ?? '';
    const shown = maskJsonLine(raw);
    const g = String(loc.line).length;
    return `${' '.repeat(g)} |\n${loc.line} | ${shown.slice(0, 200)}\n${' '.repeat(g)} | ${' '.repeat(Math.max(0, loc.column - 1))}^`;
  };
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const first = errors[0];
  if (first || !tree) {
    const loc = toLoc(first?.offset ?? 0);
    return {
      ok: false,
      diagnostic: {
        severity: 'error',
        code: 'json_syntax',
        message: `invalid JSON: ${first ? printParseErrorCode(first.error) : 'empty document'}`,
        location: loc,
        snippet: snippet(loc),
        hint: 'fix the JSON syntax at that position',
      },
    };
  }
  return {
    ok: true,
    doc: {
      file,
      value: nodeValue(tree),
      locate(path) {
        for (let n = path.length; n >= 0; n--) {
          const node = findNodeAtLocation(tree, path.slice(0, n) as (string | number)[]);
          if (node)
            return toLoc(node.parent?.type === 'property' ? node.parent.offset : node.offset);
        }
        return { file, line: 1, column: 1 };
      },
      snippet,
    },
  };
}

function nodeValue(node: Node): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (k && v) out[String(k.value)] = nodeValue(v);
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value;
  }
}
