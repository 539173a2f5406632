import { describe, expect, test } from 'vitest';
import { cli } from '../support/run-cli.js';

describe('enum options are validated', () => {
  test.each([
    ['--decision', 'allowed', 'needs_approval'],
    ['--outcome', 'success', 'protocol_error'],
    ['--type', 'call', 'call.result'],
  ])('audit query %s %s is a usage error listing the allowed values', async (flag, bad, listed) => {
    const run = await cli(['audit', 'query', flag, bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`'${bad}' is invalid`);
    expect(run.stderr).toContain(listed);
    expect(run.stdout).not.toContain('no audit records match');
  });

  test('valid values pass validation (and reach the store, which does not exist yet here)', async () => {
    const run = await cli(['audit', 'query', '--decision', 'deny', '--outcome', 'denied']);
    expect(run.code).not.toBe(2);
    expect(run.stderr).not.toContain('is invalid');
    expect(run.stderr).toContain('no audit store here yet');
  });
});
