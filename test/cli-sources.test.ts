import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { ExitCode, exitCodesHelp } from '../src/cli/exit-codes.js';
import { gatehouseVersion } from '../src/version.js';
import { cli } from './support/run-cli.js';

// One source for the exit codes and the version: these tests fail when a copy drifts.
const ROOT = join(import.meta.dirname, '..');
const CODES = Object.values(ExitCode).sort((a, b) => a - b);

test("README's exit code table lists exactly the codes in src/cli/exit-codes.ts", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Exit codes$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = [...section.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => Number(m[1]));
  expect(rows).toEqual(CODES);
});

test('gatehouse --help ends with the exit codes generated from the table, each once', async () => {
  const r = await cli(['--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(exitCodesHelp());
  const epilog = r.stdout.split('Exit codes:\n')[1] ?? '';
  const listed = [...epilog.matchAll(/^ {2}(\d+) +\S/gm)].map((m) => Number(m[1]));
  expect(listed).toEqual(CODES);
});

test('--version prints the version in package.json', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(gatehouseVersion()).toBe(pkg.version);
  const r = await cli(['--version']);
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(pkg.version);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

test('no source file outside src/version.ts writes the version out', () => {
  const literal = new RegExp(`['"\` ]${gatehouseVersion().replaceAll('.', '\\.')}['"\`]`);
  const offenders = sourceFiles(join(ROOT, 'src'))
    .map((f) => relative(ROOT, f))
    .filter((f) => literal.test(readFileSync(join(ROOT, f), 'utf8')));
  expect(offenders).toEqual([]);
});
