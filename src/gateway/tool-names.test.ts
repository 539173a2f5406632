import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { MAX_NAME_BYTES, nameTools, sanitizeName } from './tool-names.js';

const CAPTURE = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'codex', 'tool-names-0.169.json'),
    'utf8',
  ),
) as {
  namespaces: Record<string, string[]>;
};

describe('sanitizeName (Codex 0.169, observed)', () => {
  test.each([
    ['get.issue', 'get_issue'],
    ['search docs!', 'search_docs_'],
    ['kebab-case-tool', 'kebab_case_tool'],
    ['résumé', 'r_sum_'],
    ['my-server.v2', 'my_server_v2'],
    ['mcp__probe__echo', 'mcp__probe__echo'],
    ['😀x', '_x'],
  ])('%s → %s', (raw, expected) => expect(sanitizeName(raw)).toBe(expected));
});

describe('nameTools follows the rules Codex applied in the capture', () => {
  const servers = ['probe', 'my-server.v2', 'my_server_v2'];
  const tools = ['get.issue', 'get_issue', 'x'.repeat(200), 'y'.repeat(76)];
  const named = nameTools(
    servers.flatMap((server) => tools.map((tool) => ({ server, tool }))),
    'mcp__',
  );

  test('the same namespaces get hashes, the same tools get hashes, and the same lengths come out', () => {
    const shape = (name: string) => name.replace(/_[0-9a-f]{12}$/, '_<hash>');
    const ours: Record<string, string[]> = {};
    for (const server of servers) {
      const mine = named.filter((e) => e.server === server).map((e) => e.exposed);
      const ns = mine[0]?.slice(0, mine[0].indexOf('__', 5)) ?? '';
      ours[shape(ns)] = mine.map((n) => shape(n.slice(ns.length + 2))).sort();
    }
    const theirs: Record<string, string[]> = {};
    for (const [ns, list] of Object.entries(CAPTURE.namespaces))
      theirs[shape(ns)] = list.map(shape).sort();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const ns of Object.keys(theirs))
      expect(ours[ns]?.map((n) => n.length).sort()).toEqual(
        theirs[ns]?.map((n) => n.length).sort(),
      );
  });

  test('a 76-character tool name is left intact; a 200-character one is cut to the byte budget', () => {
    const probe = named.filter((e) => e.server === 'probe');
    expect(probe.find((e) => e.tool === 'y'.repeat(76))?.exposed).toBe(
      `mcp__probe__${'y'.repeat(76)}`,
    );
    expect(probe.find((e) => e.tool === 'x'.repeat(200))?.exposed.length).toBe(MAX_NAME_BYTES);
  });
});

describe('nameTools properties', () => {
  const ref = fc.record({
    server: fc.string({ minLength: 1, maxLength: 40 }),
    tool: fc.string({ minLength: 1, maxLength: 160 }),
  });

  test('names are [A-Za-z0-9_], fit in 128 bytes, are unique, and map back to their (server, tool)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(ref, { selector: (r) => `${r.server}\u0000${r.tool}`, maxLength: 30 }),
        (refs) => {
          const named = nameTools(refs);
          expect(named).toHaveLength(refs.length);
          expect(new Set(named.map((n) => n.exposed)).size).toBe(refs.length);
          for (const n of named) {
            expect(n.exposed).toMatch(/^[A-Za-z0-9_]+$/);
            expect(Buffer.byteLength(n.exposed)).toBeLessThanOrEqual(MAX_NAME_BYTES);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('stable: the same inputs in any order give the same names', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(ref, { selector: (r) => `${r.server}\u0000${r.tool}`, maxLength: 12 }),
        (refs) => {
          const key = (list: { server: string; tool: string; exposed: string }[]) =>
            Object.fromEntries(list.map((n) => [`${n.server}\u0000${n.tool}`, n.exposed]));
          expect(key(nameTools([...refs].reverse()))).toEqual(key(nameTools(refs)));
        },
      ),
    );
  });

  test('names that meet across servers (a + b__c, a__b + c) are still told apart', () => {
    const named = nameTools([
      { server: 'a', tool: 'b__c' },
      { server: 'a__b', tool: 'c' },
    ]);
    expect(new Set(named.map((n) => n.exposed)).size).toBe(2);
  });
});
