// `npm start`: Gatehouse at work on the bundled example. Lists the servers with their status,
// then connects a real MCP client to `gatehouse serve` and shows an allowed call, a refused one,
// and why each server that is not offered was left out.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const root = join(import.meta.dirname, '..');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const FILES = ['--config', 'examples/config.toml', '--requirements', 'examples/requirements.toml'];
const env = { ...process.env, GATEHOUSE_HOME: join(root, '.tmp', 'demo-home') };
const say = (text = '') => process.stdout.write(`${text}\n`);

say(
  '$ gatehouse mcp list --config examples/config.toml --requirements examples/requirements.toml\n',
);
spawnSync(process.execPath, [BIN, ...FILES, 'mcp', 'list'], {
  cwd: root,
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
});

say('\n$ gatehouse serve …   (an MCP client connects over stdio)\n');
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [BIN, ...FILES, 'serve'],
  cwd: root,
  env,
  stderr: 'pipe',
});
let stderr = '';
transport.stderr?.on('data', (d) => (stderr += d));
const client = new Client({ name: 'gatehouse-demo', version: '1.0.0' }, { capabilities: {} });
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
say(
  `  tools offered (${tools.length}): ${tools.slice(0, 6).join(', ')}${tools.length > 6 ? ', …' : ''}`,
);

const sum = await client.callTool({ name: 'everything__get_sum', arguments: { a: 2, b: 3 } });
say(`  ✔ call everything__get_sum {a: 2, b: 3} → ${sum.content[0]?.text}`);
try {
  await client.callTool({ name: 'everything__get_env', arguments: {} });
  say('  ✘ everything__get_env was allowed (unexpected)');
} catch (err) {
  say(
    `  ✘ call everything__get_env → refused (${err.code}): ${err.message.replace(/^MCP error -?\d+: /, '')}`,
  );
  say(
    '      why: disabled_tools = ["get-env"] in examples/config.toml — hidden from tools/list AND refused by name',
  );
}
await client.close();
await new Promise((r) => setTimeout(r, 200));

say("\n  servers not offered, and why (from gatehouse's stderr):");
for (const line of stderr.split('\n')) {
  if (!line.startsWith('{')) continue;
  const e = JSON.parse(line);
  if (e.event === 'server_state' && (e.state === 'disabled' || e.state === 'failed'))
    say(`    ${e.state === 'failed' ? `server '${e.server}' failed to start: ` : ''}${e.detail}`);
}
// The session is on the record: the calls, the refusal, and a chain that verifies.
const audit = (args) =>
  spawnSync(process.execPath, [BIN, 'audit', ...args], { cwd: root, env, encoding: 'utf8' });
const records = JSON.parse(audit(['query', '--json', '--since', '5m']).stdout || '[]');
const calls = records.filter((r) => r.event.type === 'call.result').slice(-2);
say('\n$ gatehouse audit query --since 5m   (what the audit trail kept of this session)');
for (const r of calls) {
  const e = r.event;
  say(
    `  #${r.seq} ${e.server ? `${e.server}: ` : ''}${e.target} → ${e.outcome}${e.outcome === 'denied' ? ` (rule ${e.request?.decision.rule})` : ''}, ${e.latency_ms.total} ms, result hmac ${String(e.result_hmac ?? '-').slice(0, 12)}…`,
  );
}
say(`$ gatehouse audit verify\n  ${audit(['verify']).stdout.trim().split('\n').join('\n  ')}`);
say(
  '\nNext: gatehouse requirements explain memory · gatehouse mcp list --probe · gatehouse audit tail · docs/cli.md',
);
// Last, the console on this session's trail (on a terminal only: it runs until Ctrl-C).
if (process.stdout.isTTY) {
  say('\n$ gatehouse console   (approvals, servers, audit and schema drift in a browser)');
  const web = spawn(process.execPath, [BIN, ...FILES, 'console', '--json'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve) =>
    createInterface({ input: web.stdout }).once('line', resolve),
  );
  say(`  open ${JSON.parse(line).login_url}\n  (the link signs in once; Ctrl-C stops the console)`);
  process.on('SIGINT', () => web.kill('SIGTERM'));
} else {
  say('\nThe console: gatehouse console (prints a one-time login link; docs/console.md)');
}
