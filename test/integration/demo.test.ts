import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

test.skipIf(!existsSync(join(root, 'dist', 'bin', 'gatehouse.js')))(
  'npm start shows the gateway at work: an allowed call, a refused one, and why',
  () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'demo.mjs')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Why disabled:');
    expect(r.stdout).toContain(
      '✔ call everything__get_sum {a: 2, b: 3} → The sum of 2 and 3 is 5.',
    );
    expect(r.stdout).toContain(
      '✘ call everything__get_env → refused (-32602): Unknown tool: everything__get_env',
    );
    expect(r.stdout).toMatch(
      /server 'legacy_fs' is disabled: requirements \(.*requirements\.toml\) — no rule named 'legacy_fs'/,
    );
    expect(r.stdout).toMatch(/everything: get-sum → ok/);
    expect(r.stdout).toMatch(/everything__get_env → denied \(rule unknown_or_hidden_tool\)/);
    expect(r.stdout).toContain('audit trail OK');
    expect(r.stdout).not.toContain('sk-live-example-not-a-real-key');
  },
);
