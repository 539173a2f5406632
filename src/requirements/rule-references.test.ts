import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { matchGlob } from '../policy/glob.js';
import type { ToolRule } from '../policy/model.js';
import { NO_TOOL_POLICY } from '../policy/model.js';
import type { RequirementSource, Requirements } from './model.js';
import { NO_REQUIREMENTS } from './model.js';
import { rulesNamingUnknownServers, toolRulesMatchingNoLiveTool } from './rule-references.js';

const SOURCE: RequirementSource = { kind: 'flag_file', path: '/r.toml' };

function toolRule(key: string): ToolRule {
  const [server, tool] = key.split('/') as [string, string];
  return {
    key,
    server,
    tool,
    allow: false,
    effect: null,
    category: null,
    approval: null,
    source: SOURCE,
  };
}

function withToolRules(keys: readonly string[]): Requirements {
  return { ...NO_REQUIREMENTS, policy: { ...NO_TOOL_POLICY, rules: keys.map(toolRule) } };
}

const part = fc.stringMatching(/^[a-c*?]{1,4}$/);
const names = fc.uniqueArray(fc.stringMatching(/^[a-c]{1,4}$/), { maxLength: 5 });

describe('rule references', () => {
  test('a tool rule is reported exactly when its server pattern matches no configured server', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(part, part), { maxLength: 5 }), names, (pairs, configured) => {
        const keys = [...new Set(pairs.map(([s, t]) => `${s}/${t}`))];
        const reported = rulesNamingUnknownServers(withToolRules(keys), [], configured, new Map())
          .filter((r) => r.scope === 'gatehouse_policy.tools')
          .map((r) => r.key);
        const expected = keys.filter(
          (k) => !configured.some((n) => matchGlob(k.split('/')[0] as string, n)),
        );
        expect(reported).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  test('a tool rule is reported exactly when it matches a live server but none of its tools', () => {
    const live = fc.dictionary(fc.stringMatching(/^[a-c]{1,3}$/), names, { maxKeys: 3 });
    fc.assert(
      fc.property(fc.array(fc.tuple(part, part), { maxLength: 5 }), live, (pairs, servers) => {
        const rules = [...new Set(pairs.map(([s, t]) => `${s}/${t}`))].map(toolRule);
        const liveMap = new Map(Object.entries(servers));
        const reported = toolRulesMatchingNoLiveTool(rules, [], liveMap).map((r) => r.key);
        const expected = rules
          .filter((r) => {
            const matched = [...liveMap.keys()].filter((s) => matchGlob(r.server, s));
            return (
              matched.length > 0 &&
              !matched.some((s) => (liveMap.get(s) ?? []).some((t) => matchGlob(r.tool, t)))
            );
          })
          .map((r) => r.key);
        expect(reported).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  test('the nearest configured name is suggested for a near miss, never for a glob', () => {
    const refs = rulesNamingUnknownServers(
      withToolRules(['governd/refund', 'gov*x/refund']),
      [],
      ['governed', 'payments'],
      new Map(),
    );
    expect(refs.map((r) => [r.key, r.nearest])).toEqual([
      ['governd/refund', 'governed'],
      ['gov*x/refund', null],
    ]);
  });
});
