import { parseTOML, getStaticTOMLValue, ParseError } from 'toml-eslint-parser';
import type { AST } from 'toml-eslint-parser';
import type { Diagnostic, SourceLocation } from '../diagnostics/diagnostic.js';
import { maskSourceLine } from '../masking/mask-text.js';

import type { KeyPath, LocatedDocument } from './located-document.js';

export type { KeyPath } from './located-document.js';

/** A parsed TOML 1.0 file that can say where any key of it was written. */
export interface TomlDocument extends LocatedDocument {
  value: Record<string, unknown>;
}

export type TomlParseResult =
  { ok: true; doc: TomlDocument } | { ok: false; diagnostic: Diagnostic };

const SECRET_TABLES = /(^|\.)(env|http_headers|oauth)(\.|$)/;

/**
 * Parses TOML with a real TOML 1.0 parser and indexes every key's position, so later
 * validation errors can name file, line and column without re-parsing.
 */
export function parseTomlDocument(text: string, file: string): TomlParseResult {
  const lines = text.split(/\r?\n/);
  let ast: AST.TOMLProgram;
  try {
    ast = parseTOML(text);
  } catch (err) {
    if (err instanceof ParseError) {
      const loc = { file, line: err.lineNumber, column: err.column + 1 };
      return {
        ok: false,
        diagnostic: {
          severity: 'error',
          code: 'toml_syntax',
          message: `invalid TOML: ${err.message}`,
          location: loc,
          snippet: renderSnippet(lines, loc, tableContextAt(lines, loc.line)),
          hint: 'fix the TOML syntax at that position (TOML 1.0: https://toml.io/en/v1.0.0)',
        },
      };
    }
    throw err;
  }
  const positions = new Map<string, SourceLocation>();
  indexPositions(ast, file, positions);
  const value = getStaticTOMLValue(ast) as Record<string, unknown>;
  return {
    ok: true,
    doc: {
      file,
      value,
      locate(path) {
        for (let n = path.length; n > 0; n--) {
          const hit = positions.get(pathKey(path.slice(0, n)));
          if (hit) return hit;
        }
        return { file, line: 1, column: 1 };
      },
      snippet(loc) {
        return renderSnippet(lines, loc, tableContextAt(lines, loc.line));
      },
    },
  };
}

function pathKey(path: KeyPath): string {
  return path.map(String).join('\u0000');
}

function keyNames(key: AST.TOMLKey): string[] {
  return key.keys.map((k) => (k.type === 'TOMLBare' ? k.name : k.value));
}

function indexPositions(
  ast: AST.TOMLProgram,
  file: string,
  out: Map<string, SourceLocation>,
): void {
  const at = (node: { loc: AST.SourceLocation }): SourceLocation => ({
    file,
    line: node.loc.start.line,
    column: node.loc.start.column + 1,
  });
  const visitKeyValues = (base: KeyPath, body: readonly AST.TOMLKeyValue[]): void => {
    for (const kv of body) {
      const names = keyNames(kv.key);
      for (let i = 1; i <= names.length; i++) {
        const p = pathKey([...base, ...names.slice(0, i)]);
        if (!out.has(p)) out.set(p, at(kv));
      }
      visitValue([...base, ...names], kv.value);
    }
  };
  const visitValue = (path: KeyPath, value: AST.TOMLContentNode): void => {
    if (value.type === 'TOMLInlineTable') visitKeyValues(path, value.body);
    else if (value.type === 'TOMLArray') {
      value.elements.forEach((el, i) => {
        out.set(pathKey([...path, i]), at(el));
        visitValue([...path, i], el);
      });
    }
  };
  for (const top of ast.body) {
    for (const node of top.body) {
      if (node.type === 'TOMLKeyValue') visitKeyValues([], [node]);
      else {
        const resolved = node.resolvedKey;
        for (let i = 1; i <= resolved.length; i++) {
          const p = pathKey(resolved.slice(0, i));
          if (!out.has(p) || i === resolved.length) out.set(p, at(node));
        }
        visitKeyValues(resolved, node.body);
      }
    }
  }
}

/** The `[table]` header in force at a line, so snippets inside `[x.env]` mask every value. */
function tableContextAt(lines: readonly string[], line: number): boolean {
  for (let i = line - 1; i >= 0; i--) {
    const m = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(lines[i] ?? '');
    if (m) return SECRET_TABLES.test((m[1] ?? '').replace(/["']/g, ''));
  }
  return false;
}

function renderSnippet(
  lines: readonly string[],
  loc: SourceLocation,
  secretTable: boolean,
): string {
  const raw = lines[loc.line - 1];
  if (raw === undefined) return '';
  const gutter = String(loc.line).length;
  const text = maskSourceLine(raw, secretTable).slice(0, 200);
  return [
    `${' '.repeat(gutter)} |`,
    `${loc.line} | ${text}`,
    `${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, Math.min(loc.column - 1, text.length)))}^`,
  ].join('\n');
}
