import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EVERYTHING, tempDir } from '../support/fixtures.js';

/**
 * A real client: the MCP Inspector CLI (npm @modelcontextprotocol/inspector-cli) drives
 * `gatehouse serve` over stdio in front of two npm reference servers. The Inspector passes the
 * child only a safe environment (HOME, PATH, …), so the config is given through HOME.
 */
const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const INSPECTOR = join(
  root,
  'node_modules',
  '@modelcontextprotocol',
  'inspector-cli',
  'build',
  'index.js',
);
const FILESYSTEM = join(
  root,
  'node_modules',
  '@modelcontextprotocol',
  'server-filesystem',
  'dist',
  'index.js',
);

function setup(): { home: string; files: string } {
  const home = tempDir();
  const files = tempDir();
  writeFileSync(join(files, 'note.txt'), 'hello from a file\n');
  mkdirSync(join(home, '.gatehouse'));
  const node = JSON.stringify(process.execPath);
  writeFileSync(
    join(home, '.gatehouse', 'config.toml'),
    `[mcp_servers.everything]\ncommand = ${node}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n\n[mcp_servers.files]\ncommand = ${node}\nargs = [${JSON.stringify(FILESYSTEM)}, ${JSON.stringify(files)}]\n`,
  );
  return { home, files };
}

function inspector(home: string, args: string[]): unknown {
  // The Inspector CLI resolves ../package.json from its working directory: run it from a subdirectory.
  const r = spawnSync(process.execPath, [INSPECTOR, process.execPath, BIN, 'serve', ...args], {
    cwd: join(root, 'test'),
    env: { ...process.env, HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe.skipIf(!existsSync(BIN) || !existsSync(INSPECTOR))(
  'the MCP Inspector CLI through gatehouse serve',
  () => {
    const { home, files } = setup();

    test('tools/list shows both servers, namespaced', () => {
      const names = (
        inspector(home, ['--method', 'tools/list']) as { tools: { name: string }[] }
      ).tools.map((t) => t.name);
      expect(names).toContain('everything__get_sum');
      expect(names).toContain('files__read_text_file');
    });

    test('tools/call reaches the right server', () => {
      const result = inspector(home, [
        '--method',
        'tools/call',
        '--tool-name',
        'files__read_text_file',
        '--tool-arg',
        `path=${join(files, 'note.txt')}`,
      ]);
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'hello from a file\n' }] });
    });

    test('resources/read and prompts/get', () => {
      const resource = inspector(home, [
        '--method',
        'resources/read',
        '--uri',
        'demo://resource/static/document/architecture.md',
      ]);
      expect(resource).toMatchObject({
        contents: [{ uri: 'demo://resource/static/document/architecture.md' }],
      });
      const prompt = inspector(home, [
        '--method',
        'prompts/get',
        '--prompt-name',
        'everything__args_prompt',
        '--prompt-args',
        'city=Paris',
      ]);
      expect(JSON.stringify(prompt)).toContain('Paris');
    });
  },
);
