import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  mkdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  changedSinceHash,
  parseShebang,
  planLaunch,
  releaseLaunch,
  resolveCommandPath,
} from './executable.js';
import {
  environmentMismatch,
  environmentShape,
  isInjectionVariable,
  pinMismatch,
} from './executable-pin.js';

function exe(dir: string, name: string, body = '#!/bin/sh\n'): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  chmodSync(file, 0o755);
  return file;
}

describe('resolveCommandPath: one rule for hashing and spawning (execvp)', () => {
  const root = mkdtempSync(join(tmpdir(), 'gh-resolve-'));
  const cwd = join(root, 'cwd');
  const sys = join(root, 'sys');
  mkdirSync(cwd);
  mkdirSync(sys);
  exe(cwd, 'node');
  exe(sys, 'node');

  test('an empty PATH entry is the cwd, wherever it appears', () => {
    expect(resolveCommandPath('node', cwd, `:${sys}`)).toBe(join(cwd, 'node'));
    expect(resolveCommandPath('node', cwd, `${sys}::`)).toBe(join(sys, 'node'));
    expect(resolveCommandPath('node', cwd, `/nonexistent::${sys}`)).toBe(join(cwd, 'node'));
  });

  test('a relative PATH entry is taken from the cwd; a command with a slash is a path', () => {
    expect(resolveCommandPath('node', cwd, `.:${sys}`)).toBe(join(cwd, 'node'));
    expect(resolveCommandPath('node', root, `cwd:${sys}`)).toBe(join(cwd, 'node'));
    expect(resolveCommandPath('./node', cwd, sys)).toBe(join(cwd, 'node'));
    expect(resolveCommandPath('missing', cwd, sys)).toBeNull();
  });

  test('the result is always absolute (spawn never gets a bare name)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('', '.', 'cwd', sys, '/nonexistent'), { maxLength: 5 }),
        (dirs) => {
          const found = resolveCommandPath('node', root, dirs.join(':'));
          return found === null || found.startsWith('/');
        },
      ),
    );
  });

  test('the spawn plan of an unpinned server is the resolved absolute file', () => {
    const plan = planLaunch(
      { type: 'stdio', command: 'node', args: ['x'], env: { PATH: `:${sys}` }, envVars: [], cwd },
      {},
      false,
    );
    expect(plan.file).toBe(join(cwd, 'node'));
    expect(plan.argv0).toBe('node');
    releaseLaunch(plan);
  });
});

describe('parseShebang (Linux splitting: interpreter, then one optional argument)', () => {
  const parse = (s: string) => parseShebang(Buffer.from(s));
  test('forms', () => {
    expect(parse('#!/usr/bin/env node\n')).toMatchObject({
      interpreter: '/usr/bin/env',
      arg: 'node',
    });
    expect(parse('#! /bin/sh -e -u\n')).toMatchObject({ interpreter: '/bin/sh', arg: '-e -u' });
    expect(parse('#!/bin/sh\r\n')).toMatchObject({ interpreter: '/bin/sh', arg: null });
    expect(parse('\x7fELF')).toBeNull();
    expect(parse('#!\n')).toBeNull();
  });
  test('never throws, and a result always has a non-empty interpreter without blanks', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parse(`#!${s}`);
        return r === null || (r.interpreter !== '' && !/[ \t\n]/.test(r.interpreter));
      }),
    );
  });
});

describe('a pinned script: interpreter resolved with the same rule and pinned', () => {
  const root = mkdtempSync(join(tmpdir(), 'gh-shebang-'));
  const bin = join(root, 'bin');
  mkdirSync(bin);
  exe(bin, 'interp', '\x7fELF-not-really');
  const script = exe(root, 'tool', '#!/usr/bin/env interp\n');
  const t = {
    type: 'stdio' as const,
    command: script,
    args: ['a'],
    env: { PATH: bin },
    envVars: [],
    cwd: root,
  };

  test('env NAME is resolved on the server PATH and hashed; the plan runs the interpreter on the script', () => {
    const plan = planLaunch(t, {}, true);
    expect(plan.facts.interpreter).toMatchObject({
      path: join(bin, 'interp'),
      shebang: '/usr/bin/env interp',
    });
    expect(plan.argv0).toBe('interp');
    expect(plan.args).toEqual([script, 'a']);
    const pin = { sha256: plan.facts.sha256, interpreterSha256: null, allowEnv: [] };
    expect(pinMismatch(pin, plan.facts)).toContain(
      `interpreter_sha256 = "${plan.facts.interpreter?.sha256}"`,
    );
    expect(
      pinMismatch(
        { ...pin, interpreterSha256: plan.facts.interpreter?.sha256 ?? null },
        plan.facts,
      ),
    ).toBeNull();
    releaseLaunch(plan);
  });

  test('a file changed or replaced after it was hashed is detected before the server is used', () => {
    const plan = planLaunch(t, {}, true);
    expect(changedSinceHash(plan)).toBeNull();
    appendFileSync(script, '# changed\n');
    expect(changedSinceHash(plan)).toContain('changed while the server was starting');
    releaseLaunch(plan);
    const again = planLaunch(t, {}, true);
    renameSync(script, `${script}.old`);
    copyFileSync(`${script}.old`, script);
    expect(changedSinceHash(again)).toMatch(/changed|replaced/);
    releaseLaunch(again);
  });

  test('a nested #! interpreter fails closed', () => {
    exe(bin, 'interp', '#!/bin/sh\n');
    expect(() => planLaunch(t, {}, true)).toThrow(/itself a #! script/);
  });
});

describe('injection variables', () => {
  test('the list and the prefixes', () => {
    for (const name of [
      'NODE_OPTIONS',
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'LD_AUDIT',
      'DYLD_INSERT_LIBRARIES',
      'PYTHONPATH',
      'PYTHONSTARTUP',
      'PERL5OPT',
      'RUBYOPT',
      'JAVA_TOOL_OPTIONS',
      'BASH_ENV',
      'ENV',
      'npm_config_registry',
      'NPM_CONFIG_NODE_OPTIONS',
      'BASH_FUNC_ls%%',
    ])
      expect(isInjectionVariable(name), name).toBe(true);
    for (const name of ['NODE_ENV', 'PYTHONUNBUFFERED', 'HOME', 'PATH', 'LANG', 'API_TOKEN'])
      expect(isInjectionVariable(name), name).toBe(false);
  });
  test('refused unless named; values are never quoted', () => {
    const why = environmentMismatch(
      environmentShape({ LD_PRELOAD: '/tmp/evil.so', PATH: '/usr/bin' }),
      [],
    );
    expect(why).toContain('allow_env = ["LD_PRELOAD"]');
    expect(why).not.toContain('evil');
    expect(
      environmentMismatch(environmentShape({ LD_PRELOAD: '/x.so' }), ['LD_PRELOAD']),
    ).toBeNull();
  });
  test('a PATH with an empty or relative entry is refused for a pinned server', () => {
    expect(environmentMismatch(environmentShape({ PATH: '/usr/bin:' }), [])).toContain('empty');
    expect(environmentMismatch(environmentShape({ PATH: 'bin:/usr/bin' }), [])).toContain(
      'relative',
    );
    expect(environmentMismatch(environmentShape({ PATH: '/usr/bin:/bin' }), [])).toBeNull();
  });
});
