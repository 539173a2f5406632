import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { composeRequirementLayers } from '../requirements/load-requirements.js';
import type { Requirements } from '../requirements/model.js';
import { tightenRequirements } from '../requirements/tighten-requirements.js';
import { decideToolCall } from './decide-tool-call.js';
import type { ScopeCaller } from './scope.js';
import { NOBODY, inAudience, policyFor, serverOutOfScope, toolOutOfScope } from './scope.js';

const SYSTEM = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' } as const;
const USER = { kind: 'env', name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64' } as const;
const admin = (text: string) => composeRequirementLayers([parseLayer(text, SYSTEM).layer]);
const tighten = (base: Requirements, text: string) =>
  tightenRequirements(base, parseLayer(text, USER).layer);

const alice: ScopeCaller = { principal: 'user:alice', groups: ['finance'] };
const bob: ScopeCaller = { principal: 'user:bob', groups: ['eng'] };
const bot: ScopeCaller = { principal: 'service:ci-bot', groups: [] };
const osAlice: ScopeCaller = { principal: 'os:alice', groups: [] };

const REQS = `
[gatehouse_scopes]
enabled = true
[gatehouse_scopes.servers."payments"]
groups = ["finance"]
[gatehouse_scopes.servers."github"]
subjects = ["user:*", "os:alice"]
[gatehouse_scopes.servers."gh-*"]
subjects = ["service:ci-bot"]
[gatehouse_policy.tools."github/delete_repo"]
groups = ["admins"]
approval = "always"
[gatehouse_policy.tools."github/merge"]
subjects = ["user:bob"]
approval = "never"
`;

describe('server scope', () => {
  const scopes = admin(REQS).policy.scopes!;
  test.each<[string, string, ScopeCaller, boolean]>([
    ['a group member sees the server', 'payments', alice, true],
    ['outside the group: out', 'payments', bob, false],
    ['a subject glob admits any person', 'github', bob, true],
    ['user:* does not admit a service', 'github', bot, false],
    ['an OS user listed by os:NAME', 'github', osAlice, true],
    ['an OS user has no groups', 'payments', { principal: 'os:alice', groups: [] }, false],
    ['a glob entry', 'gh-actions', bot, true],
    ['no entry + enabled: nobody', 'wiki', alice, false],
    ['no identity: nothing', 'github', NOBODY, false],
  ])('%s', (_name, server, caller, visible) => {
    expect(serverOutOfScope(scopes, server, caller) === null).toBe(visible);
  });

  test('scopes off: servers without an entry are everybody’s, entries still restrict', () => {
    const off = admin(REQS.replace('enabled = true', 'enabled = false')).policy.scopes!;
    expect(serverOutOfScope(off, 'wiki', NOBODY)).toBeNull();
    expect(serverOutOfScope(off, 'payments', bob)?.reason).toMatch(/groups finance/);
  });
});

describe('tool rule audiences', () => {
  const policy = admin(REQS).policy;
  test('a tool with audience rules is only for callers in one of them', () => {
    expect(toolOutOfScope(policy, 'github', 'delete_repo', [], bob)?.rule).toContain(
      'github/delete_repo',
    );
    expect(
      toolOutOfScope(policy, 'github', 'delete_repo', [], {
        principal: 'user:c',
        groups: ['admins'],
      }),
    ).toBeNull();
    expect(toolOutOfScope(policy, 'github', 'search', [], bob)).toBeNull();
  });

  test('a rule applies only to callers in its audience', () => {
    const decide = (caller: ScopeCaller) =>
      decideToolCall({
        server: 'github',
        tool: 'merge',
        annotations: { destructiveHint: false, openWorldHint: false },
        user: { toolMode: null, defaultMode: null },
        policy: { ...policyFor(policy, caller), defaultApproval: 'gatehouse' },
        policyRevision: 'r',
      });
    expect(decide(bob).level).toBe('never');
    expect(decide(alice).level).toBe('prompt');
  });
});

describe('[gatehouse_scopes] parsing (fail closed, file:line)', () => {
  test.each<[string, string, RegExp]>([
    ['[gatehouse_scopes]\nenabled = "yes"\n', 'gatehouse_scopes.enabled', /true or false/],
    [
      '[gatehouse_scopes.servers."x"]\nsubjects = ["alice"]\n',
      'gatehouse_scopes.servers.x.subjects',
      /user:SUBJECT/,
    ],
    [
      '[gatehouse_scopes.servers."x"]\ngroups = "finance"\n',
      'gatehouse_scopes.servers.x.groups',
      /group names/,
    ],
    [
      '[gatehouse_policy.tools."a/b"]\ngroups = ["has space"]\n',
      'gatehouse_policy.tools.a/b.groups',
      /group names/,
    ],
  ])('%s → error at %s', (text, key, message) => {
    const { diagnostics } = parseLayer(text, SYSTEM);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length, JSON.stringify(diagnostics)).toBe(1);
    expect(errors[0]?.key).toBe(key);
    expect(errors[0]?.location?.line).toBeGreaterThan(0);
    expect(errors[0]?.message).toMatch(message);
  });

  test('an audience that names nobody is a warning (nobody may use it)', () => {
    for (const text of [
      '[gatehouse_scopes.servers."x"]\ngroups = []\n',
      '[gatehouse_policy.tools."a/b"]\ngroups = []\n',
    ]) {
      const { diagnostics } = parseLayer(text, SYSTEM);
      expect(diagnostics.map((d) => [d.severity, d.message])).toEqual([
        ['warning', expect.stringContaining('nobody')],
      ]);
    }
    const p = admin('[gatehouse_policy.tools."a/b"]\ngroups = []\n').policy;
    expect(toolOutOfScope(p, 'a', 'b', [], alice)).not.toBeNull();
  });

  test('an unknown key warns with a suggestion', () => {
    const { diagnostics } = parseLayer('[gatehouse_scopes.servers."x"]\ngroup = ["a"]\n', SYSTEM);
    expect(diagnostics[0]).toMatchObject({ severity: 'warning' });
    expect(diagnostics[0]?.hint).toContain('groups');
  });
});

describe('a user layer over the admin floor can only narrow', () => {
  test('cannot turn scopes off; cannot widen a server; narrowing applies', () => {
    const base = admin(REQS);
    const { requirements, ignored } = tighten(
      base,
      '[gatehouse_scopes]\nenabled = false\n[gatehouse_scopes.servers."payments"]\nsubjects = ["user:bob"]\n[gatehouse_scopes.servers."github"]\nsubjects = ["user:bob"]\n',
    );
    const s = requirements.policy.scopes!;
    expect(ignored.join('\n')).toContain('gatehouse_scopes.enabled = false');
    expect(s.enabled).toBe(true);
    // bob is not in finance: the user's entry naming him does not let him in.
    expect(serverOutOfScope(s, 'payments', bob)).not.toBeNull();
    // alice is in finance but not in the narrowing entry: out.
    expect(serverOutOfScope(s, 'payments', alice)).not.toBeNull();
    expect(serverOutOfScope(s, 'github', bob)).toBeNull();
    expect(serverOutOfScope(s, 'github', { principal: 'user:carol', groups: [] })).not.toBeNull();
  });

  test('a user tool rule with an audience narrows who may use the tool', () => {
    const { requirements } = tighten(
      admin(REQS),
      '[gatehouse_policy.tools."github/search"]\nsubjects = ["user:bob"]\n',
    );
    const p = requirements.policy;
    expect(toolOutOfScope(p, 'github', 'search', [], bob)).toBeNull();
    expect(toolOutOfScope(p, 'github', 'search', [], osAlice)).not.toBeNull();
  });

  test('a user layer can turn scopes on', () => {
    const { requirements } = tighten(admin(''), '[gatehouse_scopes]\nenabled = true\n');
    expect(serverOutOfScope(requirements.policy.scopes!, 'any', alice)).not.toBeNull();
  });
});

const name = fc.stringMatching(/^[a-z0-9._@-]{1,12}$/);
const caller = fc.record({
  principal: fc.option(
    fc.tuple(fc.constantFrom('user:', 'service:', 'os:', 'token:'), name).map(([k, n]) => k + n),
  ),
  groups: fc.array(name, { maxLength: 3 }),
});
const audience = fc.record({
  subjects: fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom('user:', 'service:', 'os:'), name).map(([k, n]) => k + n),
      fc.constantFrom('user:*', 'service:*', 'os:*', 'user:a*'),
    ),
    { maxLength: 3 },
  ),
  groups: fc.array(name, { maxLength: 3 }),
});

describe('the scope matcher (properties)', () => {
  test('nobody and the empty audience never match', () => {
    fc.assert(
      fc.property(audience, caller, (a, c) => {
        expect(inAudience(a, NOBODY)).toBe(false);
        expect(inAudience({ subjects: [], groups: [] }, c)).toBe(false);
      }),
    );
  });

  test('a listed principal or group always matches; adding entries never removes a match', () => {
    fc.assert(
      fc.property(audience, audience, caller, (a, extra, c) => {
        if (c.principal)
          expect(inAudience({ ...a, subjects: [...a.subjects, c.principal] }, c)).toBe(true);
        const wider = {
          subjects: [...a.subjects, ...extra.subjects],
          groups: [...a.groups, ...extra.groups],
        };
        if (inAudience(a, c)) expect(inAudience(wider, c)).toBe(true);
      }),
    );
  });

  test('a principal kind never passes for another (user:* never admits service: or os:)', () => {
    fc.assert(
      fc.property(name, fc.constantFrom('service:', 'os:', 'token:'), (n, kind) => {
        expect(
          inAudience({ subjects: ['user:*'], groups: [] }, { principal: kind + n, groups: [] }),
        ).toBe(false);
      }),
    );
  });

  test('a narrowing layer never lets in a caller the admin keeps out', () => {
    fc.assert(
      fc.property(audience, audience, caller, fc.boolean(), (adminAud, userAud, c, enabled) => {
        const scopes = {
          enabled,
          enabledSource: null,
          servers: [{ pattern: 's', audience: adminAud, source: SYSTEM }],
          narrowing: [],
        };
        const narrowed = {
          ...scopes,
          narrowing: [{ pattern: 's', audience: userAud, source: USER }],
        };
        if (serverOutOfScope(scopes, 's', c) !== null)
          expect(serverOutOfScope(narrowed, 's', c)).not.toBeNull();
      }),
    );
  });
});
