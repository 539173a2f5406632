/**
 * The two faces of a schema diff: a markdown changelog a person can paste into release notes
 * (breaking changes first), and JSON for CI. Pure.
 */
import type { ChangeClass, SchemaChange } from './diff-contract.js';
import { sortChanges } from './diff-contract.js';
import { CHANGE_CLASSES } from './diff-json-schema.js';

const HEADINGS: Record<ChangeClass, string> = {
  breaking: 'Breaking changes',
  risky: 'Risky changes (text the model reads, annotations, or a different server: review them)',
  widening: 'Widening changes',
  version: 'New server versions (the tools themselves are compared one by one above)',
  cosmetic: 'Cosmetic changes (ordering or whitespace only)',
};

export function countByClass(changes: readonly SchemaChange[]): Record<ChangeClass, number> {
  const counts: Record<ChangeClass, number> = {
    breaking: 0,
    risky: 0,
    widening: 0,
    version: 0,
    cosmetic: 0,
  };
  for (const c of changes) counts[c.class]++;
  return counts;
}

/** One line per change, e.g. "5 breaking, 1 risky, 0 widening, 2 cosmetic". */
export function describeCounts(changes: readonly SchemaChange[]): string {
  const counts = countByClass(changes);
  return CHANGE_CLASSES.map((c) => `${counts[c]} ${c}`).join(', ');
}

/** Backticks in server-controlled text cannot break out of the changelog's code spans. */
function inline(text: string): string {
  return text.replace(/\r?\n/g, ' ');
}

/**
 * For a changed title or description, the text itself (quoted, cut at 300 characters): the
 * reviewer must read what the model will read, not only that it changed.
 */
function textBeforeAfter(c: SchemaChange): string[] {
  if (c.class !== 'risky' || (c.path !== 'description' && c.path !== 'title')) return [];
  const quote = (v: unknown) => {
    if (typeof v !== 'string') return '(none)';
    const one = inline(v);
    return `"${one.length > 300 ? `${one.slice(0, 300)}…` : one}"`;
  };
  return [`  - was: ${quote(c.before)}`, `  - now: ${quote(c.after)}`];
}

export function renderMarkdown(
  changes: readonly SchemaChange[],
  context: { title?: string; notes?: readonly string[] } = {},
): string {
  const lines = [`# ${context.title ?? 'Tool schema changes'}`, ''];
  const sorted = sortChanges(changes);
  if (sorted.length === 0) {
    lines.push('No changes: every server offers exactly what the lock holds.', '');
  } else {
    const servers = new Set(sorted.map((c) => c.server)).size;
    lines.push(
      `${describeCounts(sorted)} — across ${servers} server${servers === 1 ? '' : 's'}.`,
      '',
    );
    for (const cls of CHANGE_CLASSES) {
      const of = sorted.filter((c) => c.class === cls);
      if (of.length === 0) continue;
      lines.push(`## ${HEADINGS[cls]}`, '');
      for (const c of of) {
        lines.push(`- **${c.server}** · ${inline(c.summary)}`);
        lines.push(...textBeforeAfter(c));
      }
      lines.push('');
    }
  }
  for (const note of context.notes ?? []) lines.push(`> ${inline(note)}`);
  if ((context.notes ?? []).length > 0) lines.push('');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The `--format json` shape of one change (docs/cli.md § schema diff). */
export function changeToJson(c: SchemaChange): Record<string, unknown> {
  return {
    server: c.server,
    kind: c.kind,
    name: c.name,
    class: c.class,
    summary: c.summary,
    path: c.path,
    before: c.before ?? null,
    after: c.after ?? null,
    sha256_before: c.sha256_before,
    sha256_after: c.sha256_after,
  };
}
