import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { CODEX } from '../support/codex.js';
import { EVERYTHING, tempDir } from '../support/fixtures.js';
import { RawStdioClient } from '../support/raw-stdio.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

/** The variables Codex passes to every stdio server it starts (its fixed allow-list). */
const CODEX_DEFAULT_ENV = [
  'HOME',
  'LOGNAME',
  'PATH',
  'SHELL',
  'USER',
  'LANG',
  'LC_ALL',
  'TERM',
  'TMPDIR',
  'TZ',
];

interface CodexEntry {
  name: string;
  transport: {
    command: string;
    args: string[];
    env: Record<string, string> | null;
    env_vars: string[];
  };
}

/** The environment Codex gives a server: its allow-list, then `env_vars`, then literal `env`. */
function codexChildEnv(entry: CodexEntry, parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...CODEX_DEFAULT_ENV, ...entry.transport.env_vars])
    if (parent[name] !== undefined) env[name] = parent[name];
  return { ...env, ...(entry.transport.env ?? {}) };
}

describe.skipIf(!existsSync(CODEX) || !existsSync(BIN))(
  'a gateway started the way Codex starts it after connect',
  () => {
    test('gets GATEHOUSE_HOME (pinned) and GATEHOUSE_AUDIT (passed through) and serves the tools', async () => {
      const root = tempDir();
      const codexHome = join(root, 'codex');
      const gatehouseHome = join(root, 'gatehouse');
      mkdirSync(codexHome);
      writeFileSync(
        join(codexHome, 'config.toml'),
        `[mcp_servers.everything]\ncommand = "node"\nargs = [${JSON.stringify(EVERYTHING)}]\n`,
      );
      const code = await runCli(['connect', 'codex', '--gatehouse-command', BIN], {
        stdout: () => undefined,
        stderr: () => undefined,
        isTTY: false,
        env: { ...process.env, CODEX_HOME: codexHome, GATEHOUSE_HOME: gatehouseHome },
        cwd: root,
      });
      expect(code).toBe(0);
      // Codex's own view of the entry it will launch.
      const listed = spawnSync(CODEX, ['mcp', 'list', '--json'], {
        env: { ...process.env, HOME: root, CODEX_HOME: codexHome },
        encoding: 'utf8',
      });
      const entry = (JSON.parse(listed.stdout) as CodexEntry[])[0] as CodexEntry;
      // Codex's own environment: the user set an audit store; GATEHOUSE_HOME is not set there.
      const audit = join(root, 'team-audit.db');
      const parent: NodeJS.ProcessEnv = { ...process.env, HOME: root, GATEHOUSE_AUDIT: audit };
      delete parent.GATEHOUSE_HOME;
      const client = new RawStdioClient(
        entry.transport.command,
        entry.transport.args,
        codexChildEnv(entry, parent),
      );
      try {
        await client.initialize();
        const tools = await client.request(1, 'tools/list');
        expect((tools.result as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain(
          'echo',
        );
      } finally {
        client.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(audit)).toBe(true);
    });
  },
);
