import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../support/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js');
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** npm itself: the one that runs this test (npm test), else the one beside node. */
const NPM = process.env.npm_execpath ?? join(dirname(process.execPath), 'npm');
const npmCommand = NPM.endsWith('.js') ? [process.execPath, NPM] : [NPM];

function npm(args: string[], cwd: string) {
  const [cmd, ...pre] = npmCommand as [string, ...string[]];
  return spawnSync(cmd, [...pre, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
}

/**
 * What a real user does: `npm pack`, `npm install -g` the tarball into a prefix, and run the
 * installed `gatehouse` with nothing of this checkout around (a temp HOME, a minimal PATH).
 * Dependencies come from npm's cache when they are there (`--prefer-offline`); install scripts
 * are skipped, so better-sqlite3 is not compiled here (that takes minutes): neither command below
 * opens an audit store.
 */
describe.skipIf(!existsSync(BIN))('installing the packed tarball with npm install -g', () => {
  test('the installed gatehouse reports its version and runs connect codex --dry-run', () => {
    const work = tempDir();
    const pack = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
    expect(pack.status, pack.stderr).toBe(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    const files = (packed?.files ?? []).map((f) => f.path);
    // The tarball carries what the bins need, and no sources or tests.
    for (const needed of [
      'dist/bin/gatehouse.js',
      'dist/bin/verify-worker.js',
      'bin/gatehouse-governed',
      'README.md',
      'package.json',
    ])
      expect(files).toContain(needed);
    expect(files.some((f) => f.startsWith('dist/bin/chunks/'))).toBe(true);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);

    const prefix = join(work, 'prefix');
    const install = npm(
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        join(work, packed?.filename ?? 'missing.tgz'),
      ],
      work,
    );
    expect(install.status, install.stderr).toBe(0);
    const installed = join(prefix, 'bin', 'gatehouse');
    expect(existsSync(installed)).toBe(true);
    expect(existsSync(join(prefix, 'bin', 'gatehouse-governed'))).toBe(true);

    const home = tempDir();
    const env = {
      HOME: home,
      PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    };
    const version = spawnSync(installed, ['--version'], { env, encoding: 'utf8', cwd: home });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(VERSION);

    const codexConfig = join(home, '.codex', 'config.toml');
    mkdirSync(dirname(codexConfig));
    const original = '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "pkg"]\n';
    writeFileSync(codexConfig, original);
    const dry = spawnSync('gatehouse', ['connect', 'codex', '--dry-run'], {
      env,
      encoding: 'utf8',
      cwd: home,
    });
    expect(dry.status, dry.stderr).toBe(0);
    // The entry names the installed bin, absolute, as connect writes it for a real user.
    expect(dry.stdout).toContain(`+command = "${installed}"`);
    expect(dry.stdout).toContain('docs: now runs through `gatehouse run docs`');
    expect(dry.stdout).toContain('dry run: nothing was written');
    expect(readFileSync(codexConfig, 'utf8')).toBe(original);
    expect(existsSync(join(home, '.gatehouse', 'config.toml'))).toBe(false);
  }, 600_000);
});
