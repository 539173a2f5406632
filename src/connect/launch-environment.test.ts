import { describe, expect, test } from 'vitest';
import { launchedSettings, launchTransport } from './launch-environment.js';

describe('launchedSettings: the store a launched gateway will write to', () => {
  const parent = { HOME: '/home/a', GATEHOUSE_AUDIT: '/tmp/user.db', PATH: '/usr/bin' };
  const entry = { command: 'gatehouse', args: ['run', 'docs'], env_vars: ['GATEHOUSE_AUDIT'] };

  test('the variable the client passes, when no admin fixes the store', () => {
    const t = launchTransport('codex', entry, parent);
    expect(launchedSettings(t, parent, undefined)).toEqual({
      home: '/home/a/.gatehouse',
      auditSpec: '/tmp/user.db',
    });
  });

  test("the admin's store wins over the variable, as in every gateway", () => {
    const t = launchTransport('codex', entry, parent);
    expect(launchedSettings(t, parent, 'postgres://audit@db/gh').auditSpec).toBe(
      'postgres://audit@db/gh',
    );
  });

  test('a variable Codex does not pass never arrives', () => {
    const t = launchTransport('codex', { command: 'gatehouse', args: ['run', 'docs'] }, parent);
    expect(launchedSettings(t, parent, undefined).auditSpec).toBeUndefined();
  });
});
