/* global fetch */
// Real nginx (Debian's /usr/sbin/nginx) in front of gateway replicas, for tests and bench/team.mjs:
// a generated config in a temp dir, run as a non-daemon child on a loopback port, routing each
// MCP session to one replica by its Mcp-Session-Id (docs/deploy-team.md shows the same config).
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** A free loopback port (nginx cannot listen on port 0 and report it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The `http { … }` body that routes by session: what an admin puts in front of replicas.
 * `replicas` maps each replica's `--replica-id` to its HOST:PORT. A session id starts with the
 * id of the replica that opened it (`gw-1.…`), so its requests go there; requests without one
 * (initialize, the approvals API) go to any replica. When a session's replica is down, its
 * requests reach another replica (backup), which answers 404 and the client initializes again.
 */
export function gatehouseProxyConfig(port, replicas) {
  const entries = Object.entries(replicas);
  return `
  map $http_mcp_session_id $gatehouse_upstream {
    default gatehouse_any;
${entries.map(([id]) => `    ~^${id.replace(/-/g, '\\-')}\\. gatehouse_${id.replace(/-/g, '_')};`).join('\n')}
  }
  upstream gatehouse_any {
${entries.map(([, at]) => `    server ${at} max_fails=1 fail_timeout=10s;`).join('\n')}
    keepalive 32;
  }
${entries
  .map(
    ([id, at]) => `  upstream gatehouse_${id.replace(/-/g, '_')} {
    server ${at} max_fails=1 fail_timeout=10s;
${entries
  .filter(([other]) => other !== id)
  .map(([, b]) => `    server ${b} backup;`)
  .join('\n')}
    keepalive 8;
  }`,
  )
  .join('\n')}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://$gatehouse_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout;
    }
  }`;
}

/**
 * Starts nginx on 127.0.0.1:`port` in front of `replicas` ({replica id: HOST:PORT}). Resolves once it
 * answers; `stop()` ends it (SIGTERM to the master, which ends its workers).
 */
export async function startNginx(port, replicas) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'));
  chmodSync(dir, 0o755);
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(dir, t));
    chmodSync(join(dir, t), 0o777);
  }
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${gatehouseProxyConfig(port, replicas)}
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode !== null) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      // no log written
    }
    throw new Error(`nginx exited ${child.exitCode}: ${err}${log}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
