import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFiles } from '../../test/support/fixtures.js';
import { loadRequirements } from './load-requirements.js';

describe('loadRequirements layers', () => {
  const dir = writeFiles({
    'system.toml': '[mcp_servers.sys.identity]\ncommand = "npx"\n',
    'flag.toml': '[mcp_servers.flag.identity]\ncommand = "npx"\n',
  });
  const systemFile = join(dir, 'system.toml');

  test('system file, then env, then flags: union by name, each rule keeps its source', () => {
    const env = {
      GATEHOUSE_REQUIREMENTS_TOML_BASE64: Buffer.from(
        '[mcp_servers.env.identity]\ncommand = "uvx"\n',
      ).toString('base64'),
    };
    const r = loadRequirements({ requirementFiles: [], env, systemFile });
    expect([...(r.requirements.mcpServers?.rules.keys() ?? [])].sort()).toEqual(['env', 'sys']);
    expect(r.requirements.mcpServers?.rules.get('env')?.source).toEqual({
      kind: 'env',
      name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64',
    });
    expect(r.layers.map((l) => l.status)).toEqual(['loaded', 'loaded']);
  });

  test('--requirements skips the system file, and says so loudly when that file exists', () => {
    const r = loadRequirements({ requirementFiles: [join(dir, 'flag.toml')], env: {}, systemFile });
    expect([...(r.requirements.mcpServers?.rules.keys() ?? [])]).toEqual(['flag']);
    expect(r.layers[0]).toMatchObject({
      status: 'skipped',
      note: expect.stringContaining('EXISTS and is NOT enforced'),
    });
  });

  test('an absent system file is not an error; an unreadable one fails closed', () => {
    expect(
      loadRequirements({ requirementFiles: [], env: {}, systemFile: join(dir, 'nope.toml') })
        .invalid,
    ).toBe(false);
    const r = loadRequirements({ requirementFiles: [], env: {}, systemFile: dir });
    expect(r.invalid).toBe(true);
    expect(r.diagnostics[0]?.message).toContain('is a directory');
  });
});
