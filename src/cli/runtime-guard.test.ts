import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { runtimeInjections, splitNodeOptions } from './runtime-guard.js';

const options = (value: string) =>
  runtimeInjections({ NODE_OPTIONS: value }, [], false).map((f) => f.option);

describe('runtimeInjections: NODE_OPTIONS', () => {
  test.each<[string, string[]]>([
    ['--require ./x.js', ['--require']],
    ['-r ./x.js', ['-r']],
    ['--require=./x.js', ['--require']],
    ['--import=data:text/javascript,1', ['--import']],
    ['--loader ./l.mjs', ['--loader']],
    ['--experimental-loader=./l.mjs', ['--experimental-loader']],
    ['--experimental_loader ./l.mjs', ['--experimental-loader']],
    ['--inspect', ['--inspect']],
    ['--inspect-brk=0', ['--inspect-brk']],
    ['--INSPECT-PORT=9229', ['--inspect-port']],
    ['--env-file=.env', ['--env-file']],
    ['--openssl-config=/tmp/engine.cnf', ['--openssl-config']],
    ['--conditions=evil', ['--conditions']],
    ['"--require" ./x.js', ['--require']],
    ['--max-old-space-size=4096  --require ./x.js', ['--require']],
    ['--max-old-space-size=4096 --no-warnings --enable-source-maps', []],
    ['--max_old_space_size=4096 --title gatehouse', []],
    ['', []],
  ])('%j → %j', (value, found) => {
    expect(options(value)).toEqual(found);
  });

  test('every refusal says why', () => {
    const [f] = runtimeInjections({ NODE_OPTIONS: '--require x' }, [], false);
    expect(f?.why).toContain('loads code');
  });
});

describe('runtimeInjections: node options and loader variables', () => {
  test('process.execArgv is checked like NODE_OPTIONS', () => {
    expect(runtimeInjections({}, ['--import', './x.mjs'], false)).toMatchObject([
      { where: 'node options', option: '--import' },
    ]);
    expect(runtimeInjections({}, ['--max-old-space-size=512'], false)).toEqual([]);
  });

  test('LD_PRELOAD, LD_LIBRARY_PATH, DYLD_*, NODE_PATH: refused under an admin layer only', () => {
    const env = {
      LD_PRELOAD: '/tmp/x.so',
      LD_LIBRARY_PATH: '/tmp',
      DYLD_INSERT_LIBRARIES: '/tmp/x.dylib',
      NODE_PATH: '/tmp/mods',
      PATH: '/usr/bin',
    };
    expect(runtimeInjections(env, [], false)).toEqual([]);
    expect(
      runtimeInjections(env, [], true)
        .map((f) => f.option)
        .sort(),
    ).toEqual(['DYLD_INSERT_LIBRARIES', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'NODE_PATH']);
    expect(runtimeInjections({ LD_PRELOAD: '' }, [], true)).toEqual([]);
  });
});

describe('splitNodeOptions', () => {
  test('property: plain tokens joined by spaces split back', () => {
    const token = fc.string({ unit: fc.constantFrom('a', '-', '=', '.', '/'), minLength: 1 });
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), (tokens) => {
        expect(splitNodeOptions(tokens.join('  '))).toEqual(tokens);
      }),
    );
  });
  test('double quotes group, a backslash escapes inside them', () => {
    expect(splitNodeOptions('--title "a b" "x\\"y"')).toEqual(['--title', 'a b', 'x"y']);
  });
});
