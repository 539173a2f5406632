import type { Diagnostic, SourceLocation } from '../diagnostics/diagnostic.js';

export type KeyPath = readonly (string | number)[];

/** A parsed file (TOML or JSON) that can say where a key was written and show that line masked. */
export interface LocatedDocument {
  file: string;
  /** Where `path` (or its nearest written ancestor) was defined. */
  locate(path: KeyPath): SourceLocation;
  /** The source line at `loc`, secrets masked, with a caret under the column. */
  snippet(loc: SourceLocation): string;
}

/** `mcp_servers.docs.args[0]`: the key as a user would search for it. */
export function formatKeyPath(path: KeyPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** A diagnostic pointing at `path` in `doc`, with its location and masked snippet. */
export function diagnosticAt(
  doc: LocatedDocument,
  path: KeyPath,
  severity: Diagnostic['severity'],
  code: Diagnostic['code'],
  message: string,
  hint?: string,
): Diagnostic {
  const location = doc.locate(path);
  return {
    severity,
    code,
    message,
    key: formatKeyPath(path),
    location,
    snippet: doc.snippet(location),
    ...(hint ? { hint } : {}),
  };
}
