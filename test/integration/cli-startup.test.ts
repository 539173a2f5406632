import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { FIXTURES, tempDir } from '../support/fixtures.js';

// Spawns the bundled CLI (dist/bin/gatehouse.js: run `npm run build` first), as users run it.
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'bin', 'gatehouse.js');
const HOOK = join(ROOT, 'test', 'fixtures', 'hooks', 'report-drivers.mjs');

/** Runs the CLI and returns its exit code, stdout and the database drivers it loaded. */
function gatehouse(args: string[]) {
  const home = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_HOME: home };
  delete env.GATEHOUSE_AUDIT;
  delete env.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  delete env.CODEX_HOME;
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], {
    env,
    cwd: home,
    encoding: 'utf8',
  });
  const line = /gatehouse-test-drivers:(.*)/.exec(r.stderr)?.[1];
  return {
    code: r.status,
    stdout: r.stdout,
    drivers: line ? (JSON.parse(line) as string[]) : null,
  };
}

function configWithOneServer(): string {
  const dir = tempDir();
  const file = join(dir, 'config.toml');
  writeFileSync(
    file,
    `[mcp_servers.echo]\ncommand = "node"\nargs = [${JSON.stringify(join(FIXTURES, 'call-log.mjs'))}]\n`,
  );
  return file;
}

test('--version prints the version in package.json and loads no database driver', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = gatehouse(['--version']);
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(pkg.version);
  expect(r.drivers).toEqual([]);
});

test('mcp list and --help load no database driver', () => {
  const config = configWithOneServer();
  const list = gatehouse(['--config', config, 'mcp', 'list', '--json']);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'echo' })]);
  expect(list.drivers).toEqual([]);
  const help = gatehouse(['--help']);
  expect(help.code).toBe(0);
  expect(help.drivers).toEqual([]);
});

test('a command that opens the SQLite store loads better-sqlite3 only (the probe sees drivers)', () => {
  // A fresh GATEHOUSE_HOME has no store yet: audit stats looks for it with the SQLite driver.
  const r = gatehouse(['audit', 'stats', '--json']);
  expect(r.code).toBe(6);
  expect(r.drivers).toEqual(['better-sqlite3']);
});
