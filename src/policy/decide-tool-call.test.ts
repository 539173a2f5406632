import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { RequirementSource } from '../requirements/model.js';
import { decideToolCall, effectFromAnnotations, matchingRules } from './decide-tool-call.js';
import type { ToolCallDecision, ToolCallFacts } from './decide-tool-call.js';
import { matchGlob } from './glob.js';
import type {
  ApprovalLevel,
  Effect,
  ToolAnnotations,
  ToolPolicy,
  ToolRule,
  UserApprovalMode,
} from './model.js';
import { APPROVAL_LEVELS, EFFECTS, HUMAN_APPROVAL_CATEGORIES } from './model.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/r.toml' };

function rule(
  key: string,
  fields: Partial<Pick<ToolRule, 'allow' | 'effect' | 'category' | 'approval'>>,
): ToolRule {
  const [server = '', tool = ''] = key.split('/');
  return {
    key,
    server,
    tool,
    allow: null,
    effect: null,
    category: null,
    approval: null,
    source: SRC,
    ...fields,
  };
}

function facts(
  over: Partial<ToolCallFacts> & {
    rules?: ToolRule[];
    readOnly?: boolean;
    defaultApproval?: 'client' | 'gatehouse';
  } = {},
): ToolCallFacts {
  const policy: ToolPolicy = {
    readOnly: over.readOnly ?? false,
    readOnlySource: over.readOnly ? SRC : null,
    categories: [],
    rules: over.rules ?? [],
    defaultApproval: over.defaultApproval ?? 'gatehouse',
    approvalWaitSeconds: 60,
    approvalTtlSeconds: 3600,
    approvalWebhook: null,
  };
  return {
    server: 'payments',
    tool: 'refund',
    annotations: null,
    user: { toolMode: null, defaultMode: null },
    policy,
    policyRevision: 'rev-1',
    ...over,
  };
}

const READ: ToolAnnotations = { readOnlyHint: true };
const DESTRUCTIVE: ToolAnnotations = { destructiveHint: true };

describe('effectFromAnnotations: as Codex auto mode reads them', () => {
  test.each<[ToolAnnotations | null, Effect]>([
    [null, 'side_effect'],
    [{}, 'side_effect'],
    [{ readOnlyHint: true }, 'read'],
    [{ readOnlyHint: true, destructiveHint: true }, 'destructive'],
    [{ destructiveHint: true }, 'destructive'],
    [{ destructiveHint: false }, 'side_effect'],
    [{ destructiveHint: false, openWorldHint: false }, 'write'],
    [{ destructiveHint: false, openWorldHint: true }, 'side_effect'],
    [{ openWorldHint: false }, 'side_effect'],
    [{ readOnlyHint: false, destructiveHint: false, openWorldHint: false }, 'write'],
  ])('%j → %s', (annotations, effect) => {
    expect(effectFromAnnotations(annotations)).toBe(effect);
  });
});

describe('decideToolCall: the table', () => {
  test.each<
    [string, Parameters<typeof facts>[0] & object, Partial<ReturnType<typeof decideToolCall>>]
  >([
    [
      'a read tool flows',
      { annotations: READ },
      { decision: 'allow', approval: 'none', effect: 'read', effectSource: 'annotations' },
    ],
    [
      'no annotations: a side effect, the user approves (session scope allowed)',
      {},
      {
        decision: 'approval',
        approval: 'user',
        level: 'prompt',
        sessionScope: true,
        effect: 'side_effect',
        effectSource: 'default',
      },
    ],
    [
      'a destructive tool asks the user',
      { annotations: DESTRUCTIVE },
      { decision: 'approval', approval: 'user', effect: 'destructive' },
    ],
    [
      'a server that lies (readOnlyHint on a destructive tool) is still gated by the admin class',
      { annotations: READ, rules: [rule('payments/refund', { effect: 'destructive' })] },
      { decision: 'approval', effect: 'destructive', effectSource: 'admin' },
    ],
    [
      'allow = false beats everything, even an approve-everything user',
      {
        annotations: READ,
        rules: [
          rule('payments/*', { allow: false }),
          rule('payments/refund', { approval: 'never' }),
        ],
        user: { toolMode: 'approve', defaultMode: null },
      },
      { decision: 'deny', rule: expect.stringContaining('"payments/*"') as unknown as string },
    ],
    [
      'read-only mode refuses what is not read',
      { readOnly: true },
      {
        decision: 'deny',
        reason: expect.stringContaining("classified 'side_effect'") as unknown as string,
      },
    ],
    [
      'read-only mode lets reads through',
      { readOnly: true, annotations: READ },
      { decision: 'allow' },
    ],
    [
      'read-only mode trusts the admin class over annotations',
      {
        readOnly: true,
        annotations: DESTRUCTIVE,
        rules: [rule('payments/refund', { effect: 'read' })],
      },
      { decision: 'allow', effect: 'read' },
    ],
    [
      'money always needs a human, every call (no session scope)',
      { annotations: READ, rules: [rule('payments/*', { category: 'money' })] },
      { decision: 'approval', level: 'always', sessionScope: false, category: 'money' },
    ],
    [
      'money: an admin "never" cannot lower it',
      { rules: [rule('payments/*', { category: 'money', approval: 'never' })] },
      { level: 'always' },
    ],
    [
      'money: a user "approve" cannot lower it',
      {
        rules: [rule('payments/*', { category: 'money' })],
        user: { toolMode: 'approve', defaultMode: 'approve' },
      },
      { level: 'always' },
    ],
    [
      'two_person',
      { rules: [rule('payments/refund', { category: 'money', approval: 'two_person' })] },
      { decision: 'approval', approval: 'two_person', level: 'two_person' },
    ],
    [
      'an admin-named category is not a human-approval one by itself',
      { annotations: READ, rules: [rule('payments/*', { category: 'pii_exports' })] },
      { decision: 'allow', category: 'pii_exports' },
    ],
    [
      'user "prompt" makes even a read tool ask',
      { annotations: READ, user: { toolMode: null, defaultMode: 'prompt' } },
      {
        decision: 'approval',
        level: 'prompt',
        rule: expect.stringContaining('default_tools_approval_mode') as unknown as string,
      },
    ],
    [
      'user "approve" relaxes the default when the admin left it to the client',
      { defaultApproval: 'client', user: { toolMode: null, defaultMode: 'approve' } },
      { decision: 'allow' },
    ],
    [
      'user "approve" cannot relax an admin approval',
      {
        rules: [rule('payments/refund', { approval: 'prompt' })],
        user: { toolMode: 'approve', defaultMode: null },
      },
      {
        decision: 'approval',
        level: 'prompt',
        rule: expect.stringContaining('"payments/refund"') as unknown as string,
      },
    ],
    [
      'user "prompt" tightens an admin "never"',
      {
        rules: [rule('payments/refund', { approval: 'never' })],
        user: { toolMode: 'prompt', defaultMode: null },
      },
      {
        decision: 'approval',
        rule: expect.stringContaining('tools.refund.approval_mode') as unknown as string,
      },
    ],
    [
      'the per-tool user mode beats the server default',
      { annotations: READ, user: { toolMode: 'approve', defaultMode: 'prompt' } },
      { decision: 'allow' },
    ],
    [
      'user "writes": reads flow',
      { annotations: READ, user: { toolMode: null, defaultMode: 'writes' } },
      { decision: 'allow' },
    ],
    [
      'user "writes": a plain write asks',
      {
        annotations: { destructiveHint: false, openWorldHint: false },
        user: { toolMode: null, defaultMode: 'writes' },
      },
      { decision: 'approval', effect: 'write' },
    ],
    [
      'the most specific rule wins: exact tool over glob',
      {
        rules: [
          rule('payments/*', { approval: 'always' }),
          rule('payments/refund', { approval: 'never' }),
        ],
      },
      {
        decision: 'allow',
        rule: expect.stringContaining('"payments/refund"') as unknown as string,
      },
    ],
    [
      'exact server beats glob server',
      {
        rules: [
          rule('*/refund', { approval: 'never' }),
          rule('payments/re*', { approval: 'always' }),
        ],
      },
      { level: 'always' },
    ],
    [
      'a rule for another server does not apply',
      { annotations: READ, rules: [rule('billing/*', { allow: false })] },
      { decision: 'allow' },
    ],
    ['the policy revision is carried', { annotations: READ }, { policy_revision: 'rev-1' }],
  ])('%s', (_name, input, expected) => {
    expect(decideToolCall(facts(input))).toMatchObject(expected);
  });
});

const effects = fc.constantFrom<Effect | null>(null, ...EFFECTS);
const levels = fc.constantFrom<ApprovalLevel | null>(null, ...APPROVAL_LEVELS);
const modes = fc.constantFrom<UserApprovalMode | null>(null, 'auto', 'prompt', 'writes', 'approve');
const categories = fc.constantFrom<string | null>(null, 'pii', ...HUMAN_APPROVAL_CATEGORIES);
const keys = fc.constantFrom(
  'payments/refund',
  'payments/*',
  '*/refund',
  '*/*',
  'pay*/re?und',
  'billing/*',
);
const rules = fc.array(
  fc.record({
    key: keys,
    allow: fc.constantFrom<boolean | null>(null, true, false),
    effect: effects,
    category: categories,
    approval: levels,
  }),
  { maxLength: 5 },
);
const annotations = fc.option(
  fc.record(
    { readOnlyHint: fc.boolean(), destructiveHint: fc.boolean(), openWorldHint: fc.boolean() },
    { requiredKeys: [] },
  ),
);

describe('decideToolCall: invariants over any policy', () => {
  test('deny beats everything; human categories always need approval; users never loosen an admin rule', () => {
    fc.assert(
      fc.property(
        rules,
        annotations,
        modes,
        modes,
        fc.boolean(),
        (rs, ann, toolMode, defaultMode, readOnly) => {
          const ruleList = rs.map((r) => rule(r.key, r));
          const f = facts({
            rules: ruleList,
            annotations: ann,
            user: { toolMode, defaultMode },
            readOnly,
          });
          const d = decideToolCall(f);
          const matching = matchingRules(f.policy, 'payments', 'refund');
          if (matching.some((r) => r.allow === false)) expect(d.decision).toBe('deny');
          if (d.decision === 'deny') return;
          if (readOnly) expect(d.effect).toBe('read');
          if (d.category && (HUMAN_APPROVAL_CATEGORIES as readonly string[]).includes(d.category)) {
            expect(['always', 'two_person']).toContain(d.level);
          }
          const effectFloor = matching.find((r) => r.effect);
          if (!matching.some((r) => r.approval) && effectFloor && effectFloor.effect !== 'read') {
            expect(d.decision).toBe('approval');
          }
          const adminLevels = matching
            .filter((r) => r.approval)
            .map((r) => APPROVAL_LEVELS.indexOf(r.approval as ApprovalLevel));
          if (adminLevels.length > 0) {
            // the most specific admin approval is a floor the user cannot go below
            const winning = matching.find((r) => r.approval);
            expect(APPROVAL_LEVELS.indexOf(d.level)).toBeGreaterThanOrEqual(
              APPROVAL_LEVELS.indexOf(winning?.approval as ApprovalLevel),
            );
          }
          expect(d.decision === 'allow').toBe(d.level === 'never');
          expect(d.approval === 'two_person').toBe(d.level === 'two_person');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('matchGlob', () => {
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      's',
    );
  test('property: agrees with the regex it stands for', () => {
    const alphabet = fc.constantFrom('a', 'b', '*', '?', '.', '_');
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '.', '_', '*'), maxLength: 10 }),
        (pattern, name) => {
          expect(matchGlob(pattern, name)).toBe(toRegex(pattern).test(name));
        },
      ),
      { numRuns: 3000 },
    );
  });
  test('linear on hostile input', () => {
    expect(matchGlob(`${'*a'.repeat(30)}b`, 'a'.repeat(5000))).toBe(false);
  });
});

describe('decideToolCall: an admin effect class is a floor', () => {
  test('a user "approve" cannot skip a tool the admin calls destructive (its annotations say read-only)', () => {
    const d = decideToolCall(
      facts({
        annotations: READ,
        rules: [rule('payments/refund', { effect: 'destructive' })],
        user: { toolMode: 'approve', defaultMode: null },
      }),
    );
    expect(d).toMatchObject({ decision: 'approval', level: 'prompt', effect: 'destructive' });
  });

  test('an admin class "read" lets a tool flow whatever its annotations say', () => {
    const d = decideToolCall(
      facts({ annotations: DESTRUCTIVE, rules: [rule('payments/refund', { effect: 'read' })] }),
    );
    expect(d).toMatchObject({ decision: 'allow', effect: 'read' });
  });
});

describe('decideToolCall: default_approval = "client"', () => {
  test('a tool no admin rule covers is left to the client; an admin rule or category still holds', () => {
    expect(decideToolCall(facts({ defaultApproval: 'client' }))).toMatchObject({
      decision: 'allow',
      rule: expect.stringContaining('default_approval = "client"') as unknown as string,
    });
    expect(
      decideToolCall(
        facts({ defaultApproval: 'client', rules: [rule('payments/*', { category: 'money' })] }),
      ),
    ).toMatchObject({ decision: 'approval', level: 'always' });
    expect(
      decideToolCall(
        facts({ defaultApproval: 'client', user: { toolMode: null, defaultMode: 'prompt' } }),
      ),
    ).toMatchObject({ decision: 'approval', level: 'prompt' });
  });
});

describe('decideToolCall: default_approval = "gatehouse" is a floor the user cannot switch off', () => {
  test.each<
    [string, UserApprovalMode | null, UserApprovalMode | null, ToolAnnotations | null, string]
  >([
    ['default mode "approve"', null, 'approve', null, 'prompt'],
    ['per-tool mode "approve"', 'approve', 'prompt', null, 'prompt'],
    ['per-tool mode "approve" on a destructive tool', 'approve', null, DESTRUCTIVE, 'prompt'],
    ['mode "writes" on a side effect', null, 'writes', null, 'prompt'],
    ['mode "auto"', null, 'auto', null, 'prompt'],
    ['mode "prompt" tightens a read', null, 'prompt', READ, 'prompt'],
    ['no mode: a read flows', null, null, READ, 'never'],
  ])('%s', (_name, toolMode, defaultMode, annotations, level) => {
    const d = decideToolCall(
      facts({ defaultApproval: 'gatehouse', annotations, user: { toolMode, defaultMode } }),
    );
    expect(d.level).toBe(level);
    if (level !== 'never' && !(toolMode === 'prompt' || defaultMode === 'prompt'))
      expect(d.rule).toContain('default_approval = "gatehouse"');
  });

  test('property: with "gatehouse", no user mode gets a non-read tool below "prompt"', () => {
    fc.assert(
      fc.property(modes, modes, annotations, (toolMode, defaultMode, ann) => {
        const d = decideToolCall(
          facts({
            defaultApproval: 'gatehouse',
            annotations: ann,
            user: { toolMode, defaultMode },
          }),
        );
        if (d.effect !== 'read') expect(APPROVAL_LEVELS.indexOf(d.level)).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });
});

describe('decideToolCall: aliases (a server whose identity satisfies several allowlist rules)', () => {
  const PAYMENTS = [
    rule('payments/*', { category: 'money' }),
    rule('payments/refund', { approval: 'two_person' }),
    rule('payments/wipe', { allow: false }),
    rule('payments/export', { effect: 'destructive' }),
  ];
  const SANDBOX = [
    rule('sandbox/*', { effect: 'read', approval: 'never' }),
    rule('sandbox/notes', { category: 'pii_exports' }),
  ];
  const f = (tool: string, aliases: string[], extra: Partial<ToolCallFacts> = {}) =>
    decideToolCall(
      facts({
        server: 'sandbox',
        tool,
        rules: [...PAYMENTS, ...SANDBOX],
        defaultApproval: 'client',
        aliases,
        ...extra,
      }),
    );
  test.each<[string, string, string[], Partial<ToolCallDecision>]>([
    ['without aliases the own rules decide', 'refund', [], { decision: 'allow', level: 'never' }],
    ['the higher approval level wins', 'refund', ['payments'], { level: 'two_person' }],
    ['a deny under any name denies', 'wipe', ['payments'], { decision: 'deny' }],
    [
      'the riskier effect class wins',
      'export',
      ['payments'],
      { effect: 'destructive', level: 'always' },
    ],
    [
      'a human-approval category wins over another category',
      'notes',
      ['payments'],
      { category: 'money', level: 'always' },
    ],
    [
      'an alias with no rule for the tool changes nothing',
      'refund',
      ['github'],
      { decision: 'allow' },
    ],
  ])('%s', (_name, tool, aliases, expected) => {
    expect(f(tool, aliases)).toMatchObject(expected);
  });

  test('the rule names the alias that made it apply', () => {
    expect(f('refund', ['payments']).rule).toContain(
      "identity also satisfies the allowlist rule for 'payments'",
    );
    expect(f('wipe', ['payments']).reason).toContain('payments/wipe');
  });

  test('read-only mode uses the strictest effect', () => {
    expect(
      f('export', ['payments'], {
        policy: { ...facts().policy, readOnly: true, rules: [...PAYMENTS, ...SANDBOX] },
      }),
    ).toMatchObject({ decision: 'deny' });
  });

  test('property: adding an alias never makes a decision less strict', () => {
    const strictness = (d: ToolCallDecision) =>
      d.decision === 'deny' ? 100 : APPROVAL_LEVELS.indexOf(d.level);
    fc.assert(
      fc.property(rules, rules, annotations, modes, fc.boolean(), (own, other, ann, mode, ro) => {
        const list = [
          ...own.map((r) => rule(r.key.replace(/^[^/]*/, 'payments'), r)),
          ...other.map((r) => rule(r.key.replace(/^[^/]*/, 'billing'), r)),
        ];
        const base = facts({
          rules: list,
          annotations: ann,
          readOnly: ro,
          user: { toolMode: mode, defaultMode: null },
        });
        const without = decideToolCall(base);
        const withAlias = decideToolCall({ ...base, aliases: ['billing'] });
        expect(strictness(withAlias)).toBeGreaterThanOrEqual(strictness(without));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decideToolCall: tightening rules (a user layer over an admin layer)', () => {
  const tightened = (
    admin: ToolRule[],
    tightening: ToolRule[],
    over: Partial<ToolCallFacts> = {},
  ) => {
    const base = facts({ rules: admin, ...over });
    return decideToolCall({ ...base, policy: { ...base.policy, tighteningRules: tightening } });
  };
  test.each<[string, ToolRule[], ToolRule[], Partial<ToolCallDecision>]>([
    [
      'a more specific user rule cannot lower an admin approval',
      [rule('payments/*', { approval: 'two_person' })],
      [rule('payments/refund', { approval: 'never' })],
      { level: 'two_person' },
    ],
    [
      'a user allow = true cannot lift an admin deny',
      [rule('payments/refund', { allow: false })],
      [rule('payments/refund', { allow: true })],
      { decision: 'deny' },
    ],
    [
      'a user effect "read" cannot relabel an admin destructive tool',
      [rule('payments/*', { effect: 'destructive' })],
      [rule('payments/refund', { effect: 'read' })],
      { effect: 'destructive', decision: 'approval' },
    ],
    [
      'a user rule can add a deny',
      [],
      [rule('payments/refund', { allow: false })],
      { decision: 'deny' },
    ],
    [
      'a user rule can raise the approval',
      [rule('payments/refund', { approval: 'prompt' })],
      [rule('payments/*', { approval: 'two_person' })],
      { level: 'two_person' },
    ],
  ])('%s', (_name, admin, tightening, expected) => {
    expect(tightened(admin, tightening)).toMatchObject(expected);
  });
});

describe('decideToolCall: tightening rules never loosen', () => {
  test('property: any tightening rules give a decision at least as strict', () => {
    const strictness = (d: ToolCallDecision) =>
      d.decision === 'deny' ? 100 : APPROVAL_LEVELS.indexOf(d.level);
    fc.assert(
      fc.property(rules, rules, annotations, modes, fc.boolean(), (admin, user, ann, mode, ro) => {
        const base = facts({
          rules: admin.map((r) => rule(r.key, r)),
          annotations: ann,
          readOnly: ro,
          user: { toolMode: mode, defaultMode: null },
        });
        const tightened = decideToolCall({
          ...base,
          policy: { ...base.policy, tighteningRules: user.map((r) => rule(r.key, r)) },
        });
        expect(strictness(tightened)).toBeGreaterThanOrEqual(strictness(decideToolCall(base)));
      }),
      { numRuns: 1000 },
    );
  });
});
