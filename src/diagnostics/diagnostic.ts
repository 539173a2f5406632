import { maskText } from '../masking/mask-text.js';
/**
 * One problem found in a user's or admin's input. Every diagnostic can name where it came from
 * (file, line, column, key) so a person can go straight to it; none carries a stack trace.
 */
export type Severity = 'error' | 'warning';

export type DiagnosticCode =
  | 'file_missing'
  | 'file_unreadable'
  | 'toml_syntax'
  | 'json_syntax'
  | 'base64_invalid'
  | 'wrong_type'
  | 'missing_field'
  | 'invalid_value'
  | 'unknown_key'
  | 'legacy_key'
  | 'transport_conflict'
  | 'duplicate_definition'
  | 'invalid_regex'
  | 'empty_name'
  | 'override'
  /** A layer the governed user controls tried to loosen an admin-owned layer: ignored. */
  | 'loosening_ignored'
  /** A rule names a server or tool that is not there (`requirements check`). */
  | 'unknown_reference';

export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface Diagnostic {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  /** Dotted key path the problem is about, e.g. `mcp_servers.docs.url`. */
  key?: string;
  location?: SourceLocation;
  /** What to do about it. */
  hint?: string;
  /** The offending source line with a caret, secrets already masked. */
  snippet?: string;
}

export function isError(d: Diagnostic): boolean {
  return d.severity === 'error';
}

/** Formats `file:line:col` (or the file alone) for messages. */
export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** Renders a diagnostic for a terminal: `error: file:3:1: key: message`, hint and snippet below. */
export function renderDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${formatLocation(d.location)}: ` : '';
  const key = d.key ? `${d.key}: ` : '';
  const lines = [`${d.severity}: ${where}${key}${maskText(d.message)}`];
  if (d.snippet) lines.push(d.snippet);
  if (d.hint) lines.push(`  hint: ${maskText(d.hint)}`);
  return lines.join('\n');
}

/** The JSON form used by every `--json` output. */
export function diagnosticToJson(d: Diagnostic): Record<string, unknown> {
  return {
    severity: d.severity,
    code: d.code,
    message: maskText(d.message),
    key: d.key ?? null,
    file: d.location?.file ?? null,
    line: d.location?.line ?? null,
    column: d.location?.column ?? null,
    hint: d.hint === undefined ? null : maskText(d.hint),
  };
}

/** Under `--strict`, every warning counts as an error. */
export function promoteWarnings(diagnostics: readonly Diagnostic[], strict: boolean): Diagnostic[] {
  return strict ? diagnostics.map((d) => ({ ...d, severity: 'error' as const })) : [...diagnostics];
}
