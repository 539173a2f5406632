import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseTomlText, planCodexConnect, verifyCodexEdit } from './codex-config.js';
import { unifiedDiff } from './unified-diff.js';

/** Applies a unified diff to `before` (the inverse of unifiedDiff), for checking it. */
function applyUnified(before: string, diff: string): string {
  if (diff === '') return before;
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let at = 0;
  const lines = diff.replace(/\n$/, '').split('\n').slice(2);
  for (const line of lines) {
    const h = /^@@ -(\d+),(\d+) /.exec(line);
    if (h) {
      const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
      while (at < start) out.push(a[at++] as string);
      continue;
    }
    if (line.startsWith(' ')) {
      out.push(a[at++] as string);
    } else if (line.startsWith('-')) at++;
    else if (line.startsWith('+')) out.push(line.slice(1));
  }
  while (at < a.length) out.push(a[at++] as string);
  return out.length ? out.join('\n') + '\n' : '';
}

describe('unifiedDiff', () => {
  test('applying the diff to the old text gives the new text', () => {
    const line = fc.constantFrom('a', 'b', 'c', '', '# x', '[t]');
    const text = fc
      .array(line, { maxLength: 25 })
      .map((l) => (l.length ? l.join('\n') + '\n' : ''));
    fc.assert(
      fc.property(text, text, (x, y) => {
        expect(applyUnified(x, unifiedDiff(x, y, { from: 'a', to: 'b' }))).toBe(y);
      }),
      { numRuns: 300 },
    );
  });

  test('identical texts give no diff', () => {
    expect(unifiedDiff('a\n', 'a\n', { from: 'x', to: 'x' })).toBe('');
  });
});

describe('planCodexConnect', () => {
  const wrapper = { command: '/bin/gatehouse', gatehouseHome: '/gh' };
  const empty = (() => {
    const r = parseTomlText('', 'g.toml');
    if (!r.ok) throw new Error('unreachable');
    return r.doc;
  })();

  test('any mix of keys, comments and sub-tables: the edit means exactly the intended config', () => {
    const key = fc.constantFrom(
      'command = "npx"',
      'args = ["-y", "p"]',
      'args = [\n  "multi",\n  "line",\n]',
      'cwd = "/srv"',
      'env_vars = ["A", { name = "B", source = "remote" }]',
      'startup_timeout_sec = 5',
      'enabled = false',
      'enabled_tools = ["x"]',
      '# a comment',
      '',
    );
    const sub = fc.constantFrom(
      '[mcp_servers.s.env]\nK = "v"',
      '[mcp_servers.s.tools.t]\napproval_mode = "approve"',
      '[other]\nx = 1',
      '# trailing comment',
    );
    fc.assert(
      fc.property(
        fc.array(key, { maxLength: 8 }),
        fc.array(sub, { maxLength: 3 }),
        (keys, subs) => {
          const text = [
            'top = 1',
            '[mcp_servers.s]',
            'command = "node"',
            ...keys,
            '',
            ...subs,
            '',
          ].join('\n');
          const parsed = parseTomlText(text, 'c.toml');
          fc.pre(parsed.ok);
          if (!parsed.ok) return;
          const plan = planCodexConnect({
            codex: parsed.doc,
            codexFile: 'c.toml',
            gatehouse: empty,
            gatehouseFile: 'g.toml',
            names: [],
            wrapper,
            now: new Date(0),
          });
          expect(plan.ok).toBe(true);
          if (!plan.ok) return;
          const after = parseTomlText(plan.codexText, 'c.toml');
          expect(after.ok).toBe(true);
          if (!after.ok) return;
          expect(verifyCodexEdit(parsed.doc.value, after.doc.value, ['s'])).toBe(true);
          // Every comment line survives in one of the two files.
          for (const l of text.split('\n').filter((x) => x.startsWith('#')))
            expect(plan.codexText.includes(l) || plan.gatehouseText.includes(l)).toBe(true);
          // Gatehouse's config gets the original definition.
          const moved = parseTomlText(plan.gatehouseText, 'g.toml');
          expect(moved.ok && moved.doc.value.mcp_servers).toEqual(parsed.doc.value.mcp_servers);
        },
      ),
      { numRuns: 300 },
    );
  });
});
