import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CODEX } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';
import { runCli } from '../../src/cli/program.js';
import { runShutdownHooks } from '../../src/cli/shutdown.js';

const MARKETPLACE = join(import.meta.dirname, '..', 'fixtures', 'marketplace');
const RECORDED = join(import.meta.dirname, '..', 'fixtures', 'codex-plugins');
const canRunCodexCli =
  spawnSync(CODEX, ['--version'], { encoding: 'utf8', timeout: 20_000 }).status === 0;

/** A Codex home with marketplace acme registered and gh-tools 1.2.3 installed (as `codex plugin add` leaves it). */
function codexHome(plugins: Record<string, string> = { 'gh-tools': '1.2.3' }): string {
  const home = tempDir();
  let config = `[marketplaces.acme]\nsource_type = "local"\nsource = "${MARKETPLACE}"\n`;
  for (const [name, version] of Object.entries(plugins)) {
    cpSync(
      join(MARKETPLACE, 'plugins', name),
      join(home, 'plugins', 'cache', 'acme', name, version),
      {
        recursive: true,
      },
    );
    config += `\n[plugins."${name}@acme"]\nenabled = true\n`;
  }
  writeFileSync(join(home, 'config.toml'), config);
  return home;
}

/** The recorded `codex … --json` outputs, with the fixture marketplace's real path put back. */
function savedOutputs(overrides: Record<string, string> = {}): string {
  const dir = tempDir();
  for (const file of ['plugin-list.json', 'plugin-list-available.json', 'marketplace-list.json']) {
    const text = readFileSync(join(RECORDED, file), 'utf8').replaceAll('/srv/mkt', MARKETPLACE);
    writeFileSync(join(dir, file), overrides[file] ?? text);
  }
  return dir;
}

function requirements(text: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'requirements.toml'), text);
  return join(dir, 'requirements.toml');
}

const POLICY = `
[gatehouse_plugins]
hooks_require_review = true
remote_servers_require_allowlist = true
allowed_install_policies = ["AVAILABLE", "INSTALLED_BY_DEFAULT"]
allowed_auth_policies = ["ON_USE"]

[gatehouse_plugins.allowed_sources.acme]
type = "local"
path = "${MARKETPLACE}"

[gatehouse_plugins.approved]
"gh-tools@acme" = "*"
`;

interface InventoryJson {
  schema_version: number;
  sha256: string;
  sources: { plugins: string };
  summary: Record<string, number>;
  servers: { name: string; plugin_id: string | null; remote: boolean; risk: string }[];
  marketplaces: { name: string; marketplace_source: unknown; risk: string }[];
  plugins: {
    id: string;
    version: string;
    installed: boolean;
    install_policy: string;
    auth_policy: string;
    hooks: { event: string; command: string }[];
    mcp_servers: { name: string; remote: boolean; allowed_by: string | null }[];
    skills: { name: string }[];
    manifest_problems: { kind: string }[];
    risk: string;
  }[];
  findings: { rule: string; severity: string; subject: { id: string }; fix: string }[];
  notices: { severity: string; message: string }[];
}

describe('gatehouse inventory', () => {
  test('from saved codex output: plugins with hooks, local and remote servers, skills; grouped by risk', async () => {
    const home = codexHome();
    const r = await cli(['--codex-home', home, 'inventory', '--json', '--from', savedOutputs()]);
    expect(r.code).toBe(0);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    expect(inv.schema_version).toBe(1);
    expect(inv.sources.plugins).toBe('saved');
    expect(inv.sha256).toMatch(/^[0-9a-f]{64}$/);
    const gh = inv.plugins.find((p) => p.id === 'gh-tools@acme');
    expect(gh).toMatchObject({
      version: '1.2.3',
      installed: true,
      install_policy: 'AVAILABLE',
      auth_policy: 'ON_USE',
      risk: 'review',
    });
    expect(gh?.hooks).toEqual([expect.objectContaining({ event: 'PreToolUse', type: 'command' })]);
    expect(gh?.mcp_servers.map((s) => [s.name, s.remote])).toEqual([
      ['gh', false],
      ['gh_remote', true],
    ]);
    expect(gh?.skills.map((s) => s.name)).toEqual(['triage']);
    const blocked = inv.plugins.find((p) => p.id === 'blocked@acme');
    expect(blocked).toMatchObject({ installed: false, install_policy: 'NOT_AVAILABLE' });
    expect(inv.plugins.find((p) => p.id === 'escaper@acme')?.manifest_problems).toEqual([
      expect.objectContaining({ kind: 'escape' }),
      expect.objectContaining({ kind: 'escape' }),
    ]);
    // plugin servers of the installed plugin are servers an agent can reach
    expect(inv.servers.filter((s) => s.plugin_id === 'gh-tools@acme').map((s) => s.name)).toEqual([
      'gh',
      'gh_remote',
    ]);
    // the hook command is shown masked where it names a secret
    expect(r.stdout).not.toContain('.gh-token"');
  });

  test('human report: grouped by risk, with the findings and their fixes', async () => {
    const r = await cli([
      '--codex-home',
      codexHome(),
      '--requirements',
      requirements(POLICY),
      'inventory',
      '--from',
      savedOutputs(),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/VIOLATIONS \(\d+\)[\s\S]*NEEDS REVIEW[\s\S]*OK \(\d+\)/);
    expect(r.stdout).toContain('✗ hooks_not_reviewed');
    expect(r.stdout).toContain('fix: review its hooks');
  });

  test('inventory check: findings with rule, subject, severity and fix; exit 15 on violations', async () => {
    const r = await cli([
      '--codex-home',
      codexHome(),
      '--requirements',
      requirements(POLICY),
      'inventory',
      'check',
      '--json',
      '--from',
      savedOutputs(),
    ]);
    expect(r.code).toBe(15);
    const out = JSON.parse(r.stdout) as { ok: boolean; findings: InventoryJson['findings'] };
    expect(out.ok).toBe(false);
    const rules = out.findings.map((f) => `${f.severity} ${f.rule} ${f.subject.id}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'error hooks_not_reviewed gh-tools@acme',
        'error remote_server_not_allowlisted gh-tools@acme',
        'warning manifest_path_escapes_root escaper@acme',
      ]),
    );
    // the NOT_AVAILABLE plugin is not offered, so its ON_INSTALL auth policy is not a finding
    expect(rules.some((x) => x.includes('blocked@acme'))).toBe(false);
    expect(out.findings.every((f) => f.fix.length > 0)).toBe(true);
  });

  test('a compliant machine passes: reviewed version, allowlisted remote server', async () => {
    const req = `${POLICY.replace('"gh-tools@acme" = "*"', '"gh-tools@acme" = ["1.2.3"]')}
[plugins."gh-tools@acme".mcp_servers.gh.identity]
command = "gh-mcp"
[plugins."gh-tools@acme".mcp_servers.gh_remote.identity]
url = "https://api.example.com/mcp"
`;
    const saved = savedOutputs({
      'plugin-list-available.json': readFileSync(
        join(RECORDED, 'plugin-list.json'),
        'utf8',
      ).replaceAll('/srv/mkt', MARKETPLACE),
    });
    const r = await cli([
      '--codex-home',
      codexHome(),
      '--requirements',
      requirements(req),
      'inventory',
      'check',
      '--from',
      saved,
    ]);
    expect(r.stdout).toContain('no violations');
    expect(r.code).toBe(0);
  });

  test('a marketplace from a source that is not allowed is a violation (boundary-safe path match)', async () => {
    const req = POLICY.replace(`path = "${MARKETPLACE}"`, `path = "${MARKETPLACE}-other"`);
    const r = await cli([
      '--codex-home',
      codexHome(),
      '--requirements',
      requirements(req),
      'inventory',
      'check',
      '--json',
      '--from',
      savedOutputs(),
    ]);
    expect(r.code).toBe(15);
    const rules = (JSON.parse(r.stdout) as InventoryJson).findings.map((f) => f.rule);
    expect(rules).toContain('marketplace_source_not_allowed');
    expect(rules).toContain('plugin_marketplace_not_allowed');
  });

  test('missing codex binary: read from config and manifests on disk, with a notice', async () => {
    const r = await cli([
      '--codex-home',
      codexHome(),
      'inventory',
      '--json',
      '--codex',
      '/nonexistent/codex',
    ]);
    expect(r.code).toBe(0);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    expect(inv.sources.plugins).toBe('disk');
    expect(inv.notices[0]?.message).toContain('not found');
    const gh = inv.plugins.find((p) => p.id === 'gh-tools@acme');
    expect(gh?.installed).toBe(true);
    expect(gh?.version).toBe('1.2.3');
    // available plugins come from the marketplace manifest, with their policies
    expect(inv.plugins.find((p) => p.id === 'blocked@acme')?.install_policy).toBe('NOT_AVAILABLE');
  });

  test('malformed JSON and a failing codex: the partial inventory is still reported', async () => {
    const saved = savedOutputs({ 'plugin-list-available.json': '{"installed": [ oops' });
    const r = await cli(['--codex-home', codexHome(), 'inventory', '--json', '--from', saved]);
    expect(r.code).toBe(0);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    expect(inv.notices.map((n) => n.message).join('\n')).toContain(
      'plugin-list-available.json: not JSON',
    );
    expect(inv.plugins.map((p) => p.id)).toEqual(['gh-tools@acme']);

    const bin = join(tempDir(), 'codex');
    writeFileSync(bin, '#!/bin/sh\necho "boom: not logged in" >&2\nexit 3\n', { mode: 0o755 });
    const failing = await cli(['--codex-home', codexHome(), 'inventory', '--json', '--codex', bin]);
    expect(failing.code).toBe(0);
    const partial = JSON.parse(failing.stdout) as InventoryJson;
    expect(partial.notices.map((n) => n.message).join('\n')).toContain(
      'exited 3: boom: not logged in',
    );
    expect(partial.plugins.find((p) => p.id === 'gh-tools@acme')?.installed).toBe(true);
  });

  test('an unreadable plugin manifest is reported; the rest of the inventory is still there', async () => {
    const home = codexHome();
    writeFileSync(
      join(home, 'plugins', 'cache', 'acme', 'gh-tools', '1.2.3', '.codex-plugin', 'plugin.json'),
      '{ nope',
    );
    const r = await cli([
      '--codex-home',
      home,
      '--requirements',
      requirements(POLICY),
      'inventory',
      'check',
      '--json',
      '--from',
      savedOutputs(),
    ]);
    const out = JSON.parse(r.stdout) as InventoryJson;
    const rules = out.findings.filter((f) => f.subject.id === 'gh-tools@acme').map((f) => f.rule);
    expect(rules).toEqual(
      expect.arrayContaining(['manifest_unreadable', 'plugin_contents_unknown']),
    );
    expect(r.code).toBe(15);
  });

  test('a broken config file: the rest of the inventory is still printed, exit 3', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'c.toml'),
      '[mcp_servers.bad]\nargs = ["x"]\n\n[mcp_servers.docs]\ncommand = "npx"\n',
    );
    const r = await cli([
      '--codex-home',
      codexHome(),
      '--config',
      join(dir, 'c.toml'),
      'inventory',
      '--json',
      '--from',
      savedOutputs(),
    ]);
    expect(r.code).toBe(3);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    expect(inv.servers.map((s) => s.name)).toContain('docs');
    expect(inv.plugins.length).toBe(3);
    expect(
      inv.notices.some((n) => n.severity === 'error' && n.message.includes('mcp_servers.bad')),
    ).toBe(true);
    expect(r.stderr).toContain('mcp_servers.bad');
  });

  test('a Git marketplace URL with a token: masked in the inventory, and not an allowed source', async () => {
    const home = codexHome();
    const url = 'https://ci-bot:ghp_' + 'x'.repeat(36) + '@github.com/acme/plugins.git';
    const saved = savedOutputs({
      'marketplace-list.json': JSON.stringify({
        marketplaces: [
          { name: 'corp', root: null, marketplaceSource: { sourceType: 'git', source: url } },
        ],
      }),
    });
    const req = requirements(
      '[gatehouse_plugins.allowed_sources.gh]\ntype = "git"\nhost = "github.com"\n',
    );
    const r = await cli([
      '--codex-home',
      home,
      '--requirements',
      req,
      'inventory',
      'check',
      '--json',
      '--from',
      saved,
    ]);
    expect(r.stdout).not.toContain('ghp_');
    expect(r.code).toBe(15);
    const f = (JSON.parse(r.stdout) as InventoryJson).findings.find((x) => x.subject.id === 'corp');
    expect(f?.rule).toBe('marketplace_source_not_allowed');
    const inv = await cli(['--codex-home', home, 'inventory', '--json', '--from', saved]);
    expect(inv.stdout).not.toContain('ghp_');
    expect(inv.stdout).toContain('https://ci-bot:*****@github.com/acme/plugins.git');
  });

  test('requirements check shows the plugin policy with where each part was set', async () => {
    const file = requirements(POLICY);
    const r = await cli(['--requirements', file, 'requirements', 'check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'gatehouse_plugins: hooks_require_review = true; remote_servers_require_allowlist = true',
    );
    expect(r.stdout).toContain(`source acme: local path ${MARKETPLACE} (${file})`);
    const j = await cli(['--requirements', file, 'requirements', 'check', '--json']);
    expect(JSON.parse(j.stdout).gatehouse_plugins).toMatchObject({
      allowed_auth_policies: ['ON_USE'],
      approved: { 'gh-tools@acme': { versions: '*', source: file } },
    });
  });

  test('unknown policy values are errors naming file, line and key (exit 4)', async () => {
    const file = requirements(
      '[gatehouse_plugins]\nallowed_auth_policies = ["ON_USE", "on_demand"]\n\n[gatehouse_plugins.allowed_sources.x]\ntype = "svn"\nurl = "https://x"\n',
    );
    const r = await cli([
      '--requirements',
      file,
      'inventory',
      'check',
      '--codex',
      '/nonexistent/codex',
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`${file}:2:`);
    expect(r.stderr).toContain(
      'gatehouse_plugins.allowed_auth_policies[1]: unknown value "on_demand"',
    );
    expect(r.stderr).toContain(
      'gatehouse_plugins.allowed_sources.x.type: unknown marketplace source type "svn"',
    );
  });
});

describe('gatehouse evidence', () => {
  const upgrade = readFileSync(join(RECORDED, 'marketplace-upgrade.json'), 'utf8');

  function fakeCodex(stdout: string, code = 0): string {
    const dir = tempDir();
    writeFileSync(join(dir, 'out.txt'), stdout);
    const bin = join(dir, 'fake-codex');
    writeFileSync(
      bin,
      `#!/bin/sh\ncat "${join(dir, 'out.txt')}"\necho "warning: ghp_${'a'.repeat(36)} leaked" >&2\nexit ${code}\n`,
      {
        mode: 0o755,
      },
    );
    return bin;
  }

  test('record keeps every field of known JSON output, the exit code and both inventory hashes', async () => {
    const env = { GATEHOUSE_HOME: tempDir() };
    const home = codexHome();
    const base = ['--codex-home', home];
    const rec = await cli(
      [
        ...base,
        'evidence',
        'record',
        '--json',
        '--codex',
        '/nonexistent/codex',
        '--',
        fakeCodex(upgrade, 1),
        'plugin',
        'marketplace',
        'upgrade',
        '--json',
      ],
      env,
    );
    expect(rec.code).toBe(1); // the recorded command's own exit code
    const stored = JSON.parse(rec.stdout) as {
      seq: number;
      exit_code: number;
      stdout: { kind: string; json: unknown };
      stderr: { text: string };
      inventory: { before: { sha256: string }; after: { sha256: string } };
    };
    expect(stored.exit_code).toBe(1);
    expect(stored.stdout.kind).toBe('codex.marketplace.upgrade');
    expect(stored.stdout.json).toEqual(JSON.parse(upgrade));
    expect(stored.stderr.text).not.toContain('ghp_');
    expect(stored.inventory.before.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.inventory.after.sha256).toBe(stored.inventory.before.sha256);

    const show = await cli([...base, 'evidence', 'show', String(stored.seq), '--json'], env);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ stdout: { json: JSON.parse(upgrade) } });
    const human = await cli([...base, 'evidence', 'show', String(stored.seq)], env);
    expect(human.stdout).toContain('"selectedMarketplaces"');
    expect(human.stdout).toContain('authentication required');

    const list = await cli([...base, 'evidence', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        seq: stored.seq,
        exit_code: 1,
        summary: expect.stringContaining('2 selected, 1 upgraded, 1 error(s)'),
      }),
    ]);
    // the audit trail that holds it still verifies
    expect((await cli(['audit', 'verify'], env)).code).toBe(0);
  });

  test('unknown output is stored verbatim (masked), and a plugin add is parsed with every field', async () => {
    const env = { GATEHOUSE_HOME: tempDir() };
    const home = codexHome();
    const text = 'Upgraded 2 marketplaces\nsee https://user:hunter2@example.com/log\n';
    const rec = await cli(
      [
        '--codex-home',
        home,
        'evidence',
        'record',
        '--json',
        '--codex',
        '/nonexistent/codex',
        '--',
        fakeCodex(text),
      ],
      env,
    );
    expect(rec.code).toBe(0);
    const stored = JSON.parse(rec.stdout) as { stdout: { format: string; text: string } };
    expect(stored.stdout.format).toBe('text');
    expect(stored.stdout.text).toContain('Upgraded 2 marketplaces\n');
    expect(stored.stdout.text).not.toContain('hunter2');

    const add = readFileSync(join(RECORDED, 'plugin-add.json'), 'utf8');
    const rec2 = await cli(
      [
        '--codex-home',
        home,
        'evidence',
        'record',
        '--json',
        '--codex',
        '/nonexistent/codex',
        '--',
        fakeCodex(add),
      ],
      env,
    );
    const s2 = JSON.parse(rec2.stdout) as { stdout: { kind: string; json: unknown } };
    expect(s2.stdout.kind).toBe('codex.plugin.add');
    expect(s2.stdout.json).toEqual(JSON.parse(add));
  });

  test('interrupted while the command runs: what it printed so far is recorded, and it is stopped', async () => {
    const home = tempDir();
    const bin = join(tempDir(), 'slow');
    writeFileSync(bin, '#!/bin/sh\necho "selected: corp"\nexec sleep 60\n', { mode: 0o755 });
    let out = '';
    const running = runCli(['evidence', 'record', '--codex', '/nonexistent/codex', '--', bin], {
      stdout: (t) => (out += t),
      stderr: () => undefined,
      isTTY: false,
      env: { ...process.env, GATEHOUSE_HOME: home, CODEX_HOME: tempDir() },
      cwd: process.cwd(),
    });
    while (!out.includes('selected: corp')) await new Promise((r) => setTimeout(r, 20));
    await runShutdownHooks();
    await running;
    const list = await cli(['evidence', 'list', '--json'], { GATEHOUSE_HOME: home });
    const [only] = JSON.parse(list.stdout) as { seq: number; summary: string; exit_code: null }[];
    expect(only?.summary).toContain('interrupted');
    expect(only?.exit_code).toBeNull();
    const show = await cli(['evidence', 'show', String(only?.seq), '--json'], {
      GATEHOUSE_HOME: home,
    });
    expect(JSON.parse(show.stdout)).toMatchObject({
      stdout: { format: 'text', text: 'selected: corp\n' },
      inventory: { after: null },
    });
  });

  test('a command that cannot be started is recorded too (exit 127); show of a missing id is exit 6', async () => {
    const env = { GATEHOUSE_HOME: tempDir() };
    const rec = await cli(
      ['evidence', 'record', '--codex', '/nonexistent/codex', '--', '/nonexistent/tool', 'x'],
      env,
    );
    expect(rec.code).toBe(127);
    expect(rec.stderr).toContain('command not found');
    const show = await cli(['evidence', 'show', '99'], env);
    expect(show.code).toBe(6);
  });
});

describe.skipIf(!canRunCodexCli)('live codex (the npm @openai/codex binary)', () => {
  test('inventory runs codex against a temporary CODEX_HOME; an add recorded as evidence changes it', async () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    const env = { GATEHOUSE_HOME: tempDir() };
    const run = (args: string[]) =>
      spawnSync(CODEX, args, { env: { ...process.env, CODEX_HOME: home }, encoding: 'utf8' });
    expect(run(['plugin', 'marketplace', 'add', MARKETPLACE, '--json']).status).toBe(0);
    const before = await cli(['--codex-home', home, 'inventory', '--json', '--codex', CODEX], env);
    const inv = JSON.parse(before.stdout) as InventoryJson;
    expect(inv.sources.plugins).toBe('codex_cli');
    expect(inv.plugins.map((p) => `${p.id} ${p.installed}`)).toEqual([
      'blocked@acme false',
      'escaper@acme false',
      'gh-tools@acme false',
    ]);
    expect(inv.plugins.find((p) => p.id === 'gh-tools@acme')?.hooks).toHaveLength(1);

    const rec = await cli(
      [
        '--codex-home',
        home,
        'evidence',
        'record',
        '--json',
        '--codex',
        CODEX,
        '--',
        CODEX,
        'plugin',
        'add',
        'gh-tools@acme',
        '--json',
      ],
      { ...env, CODEX_HOME: home },
    );
    expect(rec.code).toBe(0);
    const stored = JSON.parse(rec.stdout) as {
      stdout: { kind: string; json: { pluginId: string; version: string; installedPath: string } };
      inventory: {
        before: { sha256: string };
        after: { sha256: string; plugins: string[] };
        changes: { id: string; change: string }[];
      };
    };
    expect(stored.stdout.kind).toBe('codex.plugin.add');
    expect(stored.stdout.json).toMatchObject({ pluginId: 'gh-tools@acme', version: '1.2.3' });
    expect(stored.inventory.after.sha256).not.toBe(stored.inventory.before.sha256);
    expect(stored.inventory.after.plugins).toEqual(['gh-tools@acme@1.2.3']);
    expect(stored.inventory.changes).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'gh-tools@acme', change: 'changed' })]),
    );

    const blocked = await cli(
      [
        '--codex-home',
        home,
        'evidence',
        'record',
        '--json',
        '--codex',
        CODEX,
        '--',
        CODEX,
        'plugin',
        'add',
        'blocked@acme',
        '--json',
      ],
      { ...env, CODEX_HOME: home },
    );
    expect(blocked.code).toBe(1);
    expect((JSON.parse(blocked.stdout) as { stderr: { text: string } }).stderr.text).toContain(
      'is not available for install',
    );
  });
});

// The live path needs the codex binary from the npm @openai/codex package (a devDependency, so it
// runs in CI). Where that binary cannot start (another platform, a broken install), the skip is
// reported by name instead of the suite passing silently.
if (!canRunCodexCli) {
  test.skip(`live codex tests skipped: ${CODEX} is not runnable here`, () => undefined);
}
