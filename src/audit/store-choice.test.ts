import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { chooseAuditStore } from './store-choice.js';

describe('chooseAuditStore: one rule for every command', () => {
  test.each([
    [
      { admin: 'postgres://a/db', flag: 'x.db', env: 'y.db' },
      'postgres://a/db',
      'requirements',
      '--audit',
    ],
    [
      { admin: 'postgres://a/db', flag: undefined, env: 'y.db' },
      'postgres://a/db',
      'requirements',
      'GATEHOUSE_AUDIT',
    ],
    [
      { admin: 'postgres://a/db', flag: 'postgres://a/db', env: undefined },
      'postgres://a/db',
      'requirements',
      null,
    ],
    [{ admin: undefined, flag: 'x.db', env: 'y.db' }, 'x.db', '--audit', null],
    [{ admin: undefined, flag: undefined, env: 'y.db' }, 'y.db', 'GATEHOUSE_AUDIT', null],
    [{ admin: undefined, flag: undefined, env: '' }, undefined, 'default', null],
  ] as const)('%o → %s from %s', (settings, spec, source, overridden) => {
    const choice = chooseAuditStore(settings);
    expect(choice.spec).toBe(spec);
    expect(choice.source).toBe(source);
    expect(choice.overridden?.source ?? null).toBe(overridden);
  });

  test('property: the admin store always wins, and a differing user setting is never dropped silently', () => {
    const spec = fc.option(fc.string({ minLength: 1 }), { nil: undefined });
    fc.assert(
      fc.property(spec, spec, spec, (admin, flag, env) => {
        const choice = chooseAuditStore({ admin, flag, env });
        if (admin !== undefined) {
          expect(choice.spec).toBe(admin);
          const user = flag ?? env;
          expect(choice.overridden !== null).toBe(user !== undefined && user !== admin);
        } else expect(choice.spec).toBe(flag ?? env);
      }),
    );
  });
});
