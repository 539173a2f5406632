import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const GOVERNED = join(FIXTURES, 'governed.mjs');

function files() {
  const dir = writeFiles({
    'config.toml': `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(GOVERNED)}]\n`,
    'requirements.toml': '[gatehouse_policy]\n',
  });
  return ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')];
}

describe('policy explain: live annotations and unknown names', () => {
  test('--live takes the annotations the server lists now', async () => {
    const run = await cli([
      ...files(),
      'policy',
      'explain',
      '--server',
      'governed',
      '--tool',
      'read_balance',
      '--live',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out.annotations).toEqual({ readOnlyHint: true });
    expect(out.annotations_source).toBe('live');
    expect(out.effect).toBe('read');
  });

  test('--live with a tool the server does not offer warns, names the near miss, and explains without annotations', async () => {
    const run = await cli([
      ...files(),
      'policy',
      'explain',
      '--server',
      'governed',
      '--tool',
      'read_balanc',
      '--live',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      "server 'governed' offers no tool named 'read_balanc' (did you mean 'read_balance'?)",
    );
    expect(run.stdout).toContain('no annotations given: treated as a side effect');
  });

  test('an unknown server name is warned about with a suggestion; --live on it exits 6', async () => {
    const run = await cli([...files(), 'policy', 'explain', '--server', 'governd', '--tool', 'x']);
    expect(run.stderr).toContain(
      "no server named 'governd' is configured here (did you mean 'governed'?)",
    );
    const live = await cli([
      ...files(),
      'policy',
      'explain',
      '--server',
      'governd',
      '--tool',
      'x',
      '--live',
    ]);
    expect(live.code).toBe(6);
  });

  test('--live and --annotations together is a usage error', async () => {
    const run = await cli([
      ...files(),
      'policy',
      'explain',
      '--server',
      'governed',
      '--tool',
      'wipe',
      '--live',
      '--annotations',
      '{}',
    ]);
    expect(run.code).toBe(2);
  });
});
