import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function tool(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test('sha256 pins the resolved executable: PATH lookup, symlinks followed, a swapped binary is disabled', async () => {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const good = tool(dir, 'mcp-tool-v1', 'echo v1');
  const evil = tool(dir, 'mcp-tool-evil', 'echo evil');
  symlinkSync(good, join(bin, 'mcp-tool'));
  writeFileSync(
    join(dir, 'c.toml'),
    `[mcp_servers.pinned]\ncommand = "mcp-tool"\nenv = { PATH = "${bin}" }\n`,
  );
  writeFileSync(
    join(dir, 'r.toml'),
    `[mcp_servers.pinned.identity]\ncommand = "mcp-tool"\nsha256 = "${sha256(good)}"\n`,
  );
  const list = async () => {
    const r = await cli([
      '--config',
      join(dir, 'c.toml'),
      '--requirements',
      join(dir, 'r.toml'),
      'mcp',
      'list',
      '--json',
    ]);
    return JSON.parse(r.stdout)[0] as Record<string, unknown>;
  };

  expect(await list()).toMatchObject({ enabled: true, disabled_reason_code: null });

  unlinkSync(join(bin, 'mcp-tool'));
  symlinkSync(evil, join(bin, 'mcp-tool'));
  const swapped = await list();
  expect(swapped).toMatchObject({
    enabled: false,
    disabled_reason_code: 'pin_mismatch',
    disabled_reason: `requirements (${join(dir, 'r.toml')})`,
  });
  expect(swapped.disabled_detail).toContain(evil);

  unlinkSync(join(bin, 'mcp-tool'));
  const gone = await list();
  expect(gone).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(gone.disabled_detail).toContain('was not found');
});
