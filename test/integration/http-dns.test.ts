import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EVERYTHING, tempDir } from '../support/fixtures.js';
import { BIN, INIT, startGatehouse } from '../support/gatehouse-http.js';
import {
  cleanedAfterEach,
  namespacesAvailable,
  privateNetwork,
} from '../support/network-namespace.js';
import { processesWithMarker, until } from '../support/processes.js';

/**
 * The deployment a team runs, end to end on one machine: clients reach the gateway by DNS names
 * (resolved by the system resolver from a private /etc/hosts), over TLS with a certificate from a
 * team CA, directly and through a real nginx that is the only trusted proxy. Everything runs in a
 * private network namespace: the machine's /etc/hosts and network are not touched.
 */
const GATEWAY = '10.77.0.1'; // gatehouse listens here
const PROXY_OUT = '10.77.0.2'; // nginx connects to the gateway from here (the trusted proxy)
const PROXY_IN = '10.77.0.3'; // nginx listens here
const HOSTS = {
  'gatehouse.team.test': GATEWAY,
  'mcp.team.test': PROXY_IN,
  'evil.team.test': GATEWAY, // a rebinding attacker's name, pointed at the gateway
  'evil-proxied.team.test': PROXY_IN, // the same through the proxy
};
const CLIENT = join(import.meta.dirname, '..', 'fixtures', 'clients', 'http-client.mjs');
const TOKEN = 'tok-team-dns-0123456789';
const MARKER = `GH_DNS_TREE_${process.pid}`;
const CONFIG = `[mcp_servers.everything]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\nenv = { ${MARKER} = "1" }\n`;

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });

/** A team CA and a server certificate it signs for `names` (made with the openssl CLI). */
function teamPki(dir: string, names: string[]) {
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-subj', '/CN=Team Test CA', '-days', '1']
      .concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ])
      .concat(['-keyout', f('ca.key'), '-out', f('ca.crt')]),
  );
  openssl([
    'req',
    ...ec,
    '-subj',
    `/CN=${names[0]}`,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  ]);
  writeFileSync(
    f('server.ext'),
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n`,
  );
  openssl(
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key')].concat([
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      f('server.ext'),
      '-out',
      f('server.crt'),
    ]),
  );
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** nginx as a team would put it in front: TLS for the public name, X-Forwarded-*, verified TLS upstream. */
function nginxConfig(dir: string, pki: ReturnType<typeof teamPki>): string {
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log info;
events {}
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen ${PROXY_IN}:443 ssl;
    server_name mcp.team.test;
    ssl_certificate ${pki.cert};
    ssl_certificate_key ${pki.key};
    location / {
      proxy_pass https://${GATEWAY}:443;
      proxy_bind ${PROXY_OUT};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${pki.ca};
      proxy_ssl_name gatehouse.team.test;
      proxy_ssl_server_name on;
      proxy_http_version 1.1;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`,
  );
  return file;
}

const NGINX = '/usr/sbin/nginx';
if (!existsSync(NGINX) && process.env.CI === 'true')
  throw new Error(
    `${NGINX} is missing: under CI the DNS-name deployment test must run (apt-get install nginx)`,
  );
const AVAILABLE = existsSync(BIN) && existsSync(NGINX) && namespacesAvailable();
const started = cleanedAfterEach();
const children = started.children;

describe.skipIf(!AVAILABLE)(
  'a team deployment reached by DNS names (private network namespace)',
  () => {
    test('TLS by name, the trusted proxy, wrong names refused, abandoned sessions reaped', async () => {
      const dir = tempDir();
      const pki = teamPki(dir, ['gatehouse.team.test', 'mcp.team.test']);
      const net = (started.net = await privateNetwork([GATEWAY, PROXY_OUT, PROXY_IN], HOSTS));
      const g = await startGatehouse(
        children,
        CONFIG,
        ['run', 'everything', '--http', `${GATEWAY}:443`, '--http-token-env', 'GH_DNS_TOKEN']
          .concat(['--allowed-host', 'gatehouse.team.test', '--allowed-host', 'mcp.team.test'])
          .concat(['--trusted-proxy', PROXY_OUT, '--tls-cert', pki.cert, '--tls-key', pki.key])
          .concat(['--idle-session-seconds', '2']),
        { GH_DNS_TOKEN: TOKEN },
        net.spawn,
      );
      expect(g.url, g.stderr()).toBe(`https://${GATEWAY}:443/mcp`);
      const client = (url: string, trustCa = true) =>
        net
          .run(process.execPath, [CLIENT, url], {
            ...process.env,
            MCP_TOKEN: TOKEN,
            ...(trustCa ? { NODE_EXTRA_CA_CERTS: pki.ca } : {}),
          })
          .then((r) => JSON.parse(r.stdout || JSON.stringify({ ok: false, error: r.stderr })));
      /** curl (the system resolver again): the status and body of an initialize POST. */
      const curl = async (url: string, tls: string[], headers: string[] = []) => {
        const r = await net.run('curl', [
          '-sS',
          '--max-time',
          '20',
          ...tls,
          '-o',
          '-',
          '-w',
          '\n%{http_code}',
          '-H',
          'content-type: application/json',
          '-H',
          'accept: application/json, text/event-stream',
          '-H',
          `authorization: Bearer ${TOKEN}`,
          ...headers.flatMap((h) => ['-H', h]),
          '--data',
          INIT,
          url,
        ]);
        const lines = r.stdout.trimEnd().split('\n');
        return {
          exit: r.status,
          status: Number(lines.pop()),
          body: lines.join('\n'),
          stderr: r.stderr,
        };
      };
      const trusted = ['--cacert', pki.ca];

      // Direct, by name, over TLS with the team CA: the SDK client works.
      expect(await client('https://gatehouse.team.test/mcp')).toMatchObject({
        ok: true,
        echo: [{ type: 'text', text: 'Echo: by name' }],
      });
      // Without trusting the team CA the client refuses the certificate (TLS is really checked).
      expect(await client('https://gatehouse.team.test/mcp', false)).toMatchObject({
        ok: false,
        error: expect.stringMatching(/certificate/i),
      });

      // Through nginx under the public name: the forwarded name is the one checked, and allowed.
      const proxy = net.spawn(NGINX, ['-c', nginxConfig(dir, pki), '-p', dir], {
        stdio: 'ignore',
      });
      children.push(proxy);
      expect(
        await until(
          async () => (await curl('https://mcp.team.test/mcp', trusted)).status === 200,
          20_000,
        ),
      ).toBe(true);
      expect(await client('https://mcp.team.test/mcp')).toMatchObject({
        ok: true,
        echo: [{ type: 'text', text: 'Echo: by name' }],
      });

      // DNS rebinding: a foreign name pointed at the gateway. A verifying client stops at TLS
      // (curl exit 60); one that does not is refused by the gateway itself, directly or proxied.
      expect((await curl('https://evil.team.test/mcp', trusted)).exit).toBe(60);
      const rebound = await curl('https://evil.team.test/mcp', ['-k']);
      expect([rebound.status, rebound.body]).toEqual([
        403,
        expect.stringContaining("Host 'evil.team.test'"),
      ]);
      const reboundProxied = await curl('https://evil-proxied.team.test/mcp', ['-k']);
      expect([reboundProxied.status, reboundProxied.body]).toEqual([
        403,
        expect.stringContaining("Host 'evil-proxied.team.test'"),
      ]);

      // X-Forwarded-* from anyone but the proxy address count for nothing, either way.
      const ignored = await curl('https://gatehouse.team.test/mcp', trusted, [
        'X-Forwarded-Host: evil.team.test',
      ]);
      expect(ignored.status).toBe(200);
      const notBelieved = await curl(
        `https://${GATEWAY}/mcp`,
        ['-k'],
        ['X-Forwarded-Host: gatehouse.team.test'],
      );
      expect([notBelieved.status, notBelieved.body]).toEqual([
        403,
        expect.stringContaining(`Host '${GATEWAY}'`),
      ]);

      // Every client above left without DELETE: their sessions expire and the upstream trees go.
      const expired = () => g.stderr().split('"event":"session_expired"').length - 1;
      expect(await until(() => expired() >= 4, 30_000), g.stderr()).toBe(true);
      expect(await until(() => processesWithMarker(MARKER).length === 0, 20_000)).toBe(true);
    }, 120_000);
  },
);
