import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { describe, expect, test } from 'vitest';
import { EVERYTHING, tempDir } from '../support/fixtures.js';
import { CODEX } from '../support/codex.js';
import { BIN } from '../support/gatehouse-http.js';
import type { PrivateNetwork } from '../support/network-namespace.js';
import {
  cleanedAfterEach,
  namespacesAvailable,
  privateNetwork,
} from '../support/network-namespace.js';
import { until } from '../support/processes.js';
import { cli } from '../support/run-cli.js';

/**
 * The container image, the compose file and the Kubernetes manifests, checked for what matters
 * without a Docker daemon: the files they name exist, the security settings are there, the
 * requirements they ship are valid, and the image's entrypoint really runs from the packed
 * package as a non-root user on a read-only root file system with all state in the volume.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
type Doc = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** The Dockerfile's instructions per stage (continuation lines joined, comments dropped). */
function dockerfile() {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: { from: string; name: string | null; steps: [string, string][] }[] = [];
  const args: Record<string, string> = {};
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    if (op === 'ARG' && stages.length === 0) {
      const [k = '', v = ''] = value.split('=');
      args[k] = v;
    } else if (op === 'FROM') {
      const [image = '', , name] = rest;
      stages.push({
        from: image.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? ''),
        name: name ?? null,
        steps: [],
      });
    } else stages.at(-1)?.steps.push([op, value]);
  }
  const final = stages.at(-1)!;
  const all = (op: string) => final.steps.filter(([o]) => o === op).map(([, v]) => v);
  const env: Record<string, string> = {};
  for (const e of all('ENV')) for (const m of e.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return {
    stages,
    final,
    env,
    user: all('USER').at(-1) ?? 'root',
    workdir: all('WORKDIR').at(-1) ?? '/',
    volumes: all('VOLUME').flatMap((v) => JSON.parse(v) as string[]),
    entrypoint: JSON.parse(all('ENTRYPOINT').at(-1) ?? '[]') as string[],
    cmd: JSON.parse(all('CMD').at(-1) ?? '[]') as string[],
    healthcheck: all('HEALTHCHECK').at(-1) ?? '',
    copies: final.steps.filter(([o]) => o === 'COPY').map(([, v]) => v.split(/\s+/)),
  };
}

const STATE = '/var/lib/gatehouse';

/**
 * `codex mcp login` against the composed gateway, with curl as the browser on the example IdP's
 * login and consent pages. Returns what `codex mcp list` says before and after, and the access
 * token Codex stored (file store).
 */
async function codexSignsIn(net: PrivateNetwork, user: string) {
  const home = tempDir();
  writeFileSync(
    join(home, 'config.toml'),
    'mcp_oauth_credentials_store = "file"\n[mcp_servers.team]\nurl = "http://localhost:8080/mcp"\nscopes = ["mcp:tools"]\n',
  );
  const env = { ...process.env, CODEX_HOME: home };
  const status = async () => {
    const r = await net.run(CODEX, ['mcp', 'list', '--json'], env);
    return (JSON.parse(r.stdout || '[]') as { auth_status?: string }[])[0]?.auth_status;
  };
  const before = await status();
  const login = net.spawn(CODEX, ['mcp', 'login', 'team'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  login.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  login.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => login.once('exit', resolve));
  await until(() => /http:\/\/localhost:9000\/auth\?\S+/.test(out), 20_000);
  const jar = join(home, 'cookies');
  const browse = async (url: string, form: string[] = []) => {
    const r = await net.run('curl', [
      '-sS',
      '-L',
      '-c',
      jar,
      '-b',
      jar,
      '-o',
      '/dev/null',
      '-w',
      '%{url_effective}',
      ...form.flatMap((f) => ['-d', f]),
      url,
    ]);
    return r.stdout;
  };
  const loginPage = await browse(/http:\/\/localhost:9000\/auth\?\S+/.exec(out)?.[0] ?? '');
  const consentPage = await browse(loginPage, ['prompt=login', `login=${user}`, 'password=any']);
  const callback = await browse(consentPage, ['prompt=consent']);
  const timer = setTimeout(() => login.kill('SIGKILL'), 30_000);
  const code = await done;
  clearTimeout(timer);
  const stored = JSON.parse(readFileSync(join(home, '.credentials.json'), 'utf8')) as Record<
    string,
    { access_token: string }
  >;
  return {
    before,
    after: await status(),
    login: { status: code, output: out, callback },
    token: Object.values(stored)[0]?.access_token ?? '',
  };
}

describe('container image (Dockerfile)', () => {
  const d = dockerfile();

  test('multi-stage on node 20 slim; runs as a numeric non-root user; state only in the volume', () => {
    expect(d.stages.length).toBeGreaterThanOrEqual(2);
    expect(d.final.from).toMatch(/^node:20[\w.-]*-slim$/);
    expect(d.user).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric: Kubernetes' runAsNonRoot can check it
    expect(d.volumes).toEqual([STATE]);
    expect(d.workdir).toBe(STATE);
    expect(d.env).toMatchObject({ GATEHOUSE_HOME: STATE, HOME: STATE });
    expect(d.env.GATEHOUSE_LOCK).toBeUndefined(); // the lock is ./gatehouse.lock.json in the volume, optional
    // The runtime stage installs nothing itself: only what the build stage made, owned by root.
    expect(d.final.steps.filter(([o]) => o === 'RUN').join(' ')).not.toMatch(/npm|apt-get/);
    for (const c of d.copies)
      expect(c[0] === '--from=build' || c.includes('--chown=root:root')).toBe(true);
    for (const c of d.copies.filter((c) => !c[0]!.startsWith('--from')))
      expect(existsSync(join(ROOT, c.at(-2)!)), c.join(' ')).toBe(true);
  });

  test('the build stage keeps every file the package publishes; the entrypoint is in it; HEALTHCHECK hits /healthz', () => {
    const build = d.stages[0]!.steps.map(([o, v]) => `${o} ${v}`).join('\n');
    const kept = /cp -r ([\w. -]+) \/opt\/gatehouse\//.exec(build)?.[1]?.split(/\s+/) ?? [];
    const pkg = JSON.parse(read('package.json')) as { files: string[] };
    expect(kept).toEqual(expect.arrayContaining([...pkg.files, 'package.json', 'node_modules']));
    expect(d.entrypoint).toEqual(['node', '/opt/gatehouse/dist/bin/gatehouse.js']);
    expect(d.cmd).toEqual(expect.arrayContaining(['serve', '--http']));
    expect(d.healthcheck).toContain('/opt/gatehouse/healthcheck.mjs');
    expect(d.env.GATEHOUSE_HEALTH_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz$/);
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '**/*.pem', '**/*.key'])
      expect(ignored).toContain(entry);
  });
});

describe('docker-compose.yml', () => {
  const compose = load(read('docker-compose.yml')) as Any;

  test('every file and build context it names exists; the gateway is read-only with state in a volume', () => {
    for (const [name, svc] of Object.entries(compose.services as Record<string, Any>)) {
      if (svc.build) expect(existsSync(join(ROOT, svc.build, 'Dockerfile')), name).toBe(true);
      for (const v of (svc.volumes ?? []) as string[])
        if (v.startsWith('./'))
          expect(existsSync(join(ROOT, v.split(':')[0]!)), `${name}: ${v}`).toBe(true);
    }
    const g = compose.services.gatehouse;
    expect(g.read_only).toBe(true);
    expect(g.tmpfs).toContain('/tmp');
    expect(g.cap_drop).toEqual(['ALL']);
    expect(g.volumes).toContain(`gatehouse-state:${STATE}`);
    expect(g.depends_on.postgres.condition).toBe('service_healthy');
    expect(g.environment.GATEHOUSE_AUDIT).toMatch(/^postgres:\/\/gatehouse@postgres:5432\//); // no password in the URL
    for (const svc of Object.values(compose.services as Record<string, Any>))
      for (const p of (svc.ports ?? []) as string[]) expect(p.startsWith('127.0.0.1:')).toBe(true);
  });

  test('the requirements it mounts are valid, with identity, allowed hosts and scopes', async () => {
    const r = await cli([
      '--requirements',
      join(ROOT, 'deploy/compose/requirements.toml'),
      '--config',
      join(ROOT, 'deploy/compose/config.toml'),
      'requirements',
      'check',
      '--json',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const check = JSON.parse(r.stdout);
    expect(check.gatehouse_http.allowed_hosts.value).toEqual(['localhost']);
    expect(check.gatehouse_scopes.enabled).toBe(true);
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  const docs = readdirSync(join(ROOT, 'deploy/k8s'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      (loadAll(read(`deploy/k8s/${f}`)) as Doc[]).map((doc) => ({ file: f, doc: doc as Any })),
    );
  const kind = (k: string) => docs.filter((d) => d.doc.kind === k).map((d) => d.doc);

  test('two replicas, non-root as the image user, read-only root, no capabilities, probes on /healthz and /readyz', () => {
    const [deploy] = kind('Deployment');
    const pod = deploy.spec.template.spec;
    const [c] = pod.containers;
    expect(deploy.spec.replicas).toBe(2);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(
      dockerfile().user,
    );
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    // Writable places are volumes, never the image: the state directory and /tmp.
    const volume = (path: string) =>
      pod.volumes.find(
        (v: Any) => v.name === c.volumeMounts.find((m: Any) => m.mountPath === path)?.name,
      );
    expect(volume(STATE)?.emptyDir ?? volume(STATE)?.persistentVolumeClaim).toBeDefined();
    expect(volume('/tmp')?.emptyDir).toBeDefined();
    expect(volume('/etc/gatehouse')?.configMap?.name).toBe(kind('ConfigMap')[0]?.metadata.name);
    // Secrets by reference only, each key documented in the example Secret (the pod's own name,
    // its --replica-id, comes from the downward API).
    const secret = kind('Secret')[0];
    for (const e of c.env) {
      expect(e.value).toBeUndefined();
      if (e.valueFrom.fieldRef) {
        expect(e).toEqual({
          name: 'POD_NAME',
          valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
        });
        continue;
      }
      expect(e.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
    }
  });

  test('the ConfigMap requirements are valid; the Ingress keeps a client on one replica (its address), routed to the Service; kustomize lists real files', async () => {
    const cm = kind('ConfigMap')[0];
    const dir = tempDir();
    writeFileSync(join(dir, 'requirements.toml'), cm.data['requirements.toml']);
    writeFileSync(join(dir, 'config.toml'), cm.data['config.toml']);
    const r = await cli([
      '--requirements',
      join(dir, 'requirements.toml'),
      '--config',
      join(dir, 'config.toml'),
      'requirements',
      'check',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [ingress] = kind('Ingress');
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe(
      '$binary_remote_addr',
    );
    expect(ingress.spec.rules[0].http.paths[0].backend.service.name).toBe(
      kind('Service')[0].metadata.name,
    );
    const kustomization = load(read('deploy/k8s/kustomization.yaml')) as { resources: string[] };
    for (const f of kustomization.resources)
      expect(existsSync(join(ROOT, 'deploy/k8s', f)), f).toBe(true);
  });
});

const started = cleanedAfterEach();
const children = started.children;

// Root to make the namespaces and switch to the image's uid; under CI a missing one fails the run.
const RUNNABLE = existsSync(BIN) && namespacesAvailable();

describe.skipIf(!RUNNABLE)(
  'the image entrypoint, run as the image runs it (no Docker daemon here)',
  () => {
    test('from the packed package, as uid 10001, read-only root: a bot and Codex (OAuth sign-in) served by the compose IdP tokens, state in the volume, exit 0 on SIGTERM', async () => {
      const d = dockerfile();
      const base = tempDir();
      chmodSync(base, 0o755);
      const opt = join(base, 'opt-gatehouse');
      const etc = join(base, 'etc-gatehouse');
      const state = join(base, 'state');
      for (const dir of [opt, etc, state]) mkdirSync(dir);
      // What the build stage copies: the files `npm pack` publishes, plus production node_modules.
      const packed = JSON.parse(
        execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', base], {
          cwd: ROOT,
          encoding: 'utf8',
        }),
      ) as { filename: string }[];
      execFileSync('tar', [
        'xzf',
        join(base, packed[0]!.filename),
        '-C',
        opt,
        '--strip-components=1',
      ]);
      symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(opt, 'node_modules'));
      copyFileSync(join(ROOT, 'deploy/docker/healthcheck.mjs'), join(opt, 'healthcheck.mjs'));
      execFileSync('chmod', ['-R', 'go+rX,go-w', opt, etc]);
      const [uid, gid] = d.user.split(':').map(Number) as [number, number];
      chownSync(state, uid, gid);
      chmodSync(state, 0o700);
      // The compose requirements, with this machine's server instead of npx (no network here).
      writeFileSync(
        join(etc, 'config.toml'),
        `[mcp_servers.everything]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n`,
      );
      writeFileSync(
        join(etc, 'requirements.toml'),
        read('deploy/compose/requirements.toml').replace(
          /\[mcp_servers\.everything\.identity\.command\][\s\S]*?\n\]\n/,
          `[mcp_servers.everything.identity]\ncommand = ${JSON.stringify(process.execPath)}\n`,
        ),
      );
      const mapPath = (s: string) =>
        s
          .replaceAll('/opt/gatehouse', opt)
          .replaceAll(STATE, state)
          .replaceAll('/etc/gatehouse', etc);
      const env = Object.fromEntries(Object.entries(d.env).map(([k, v]) => [k, mapPath(v)]));
      // /etc/gatehouse/requirements.toml is the system file in the image; here it is named.
      const command = [
        ...d.entrypoint,
        '--requirements',
        '/etc/gatehouse/requirements.toml',
        ...d.cmd,
      ].map(mapPath);

      const net = (started.net = await privateNetwork([], {}));
      const botSecret = 'ci-bot-secret-for-tests-0123456789';
      const idp = net.spawn(
        process.execPath,
        [join(ROOT, 'deploy/compose/example-idp/server.mjs')],
        {
          env: { ...process.env, IDP_CI_BOT_SECRET: botSecret },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      children.push(idp);
      await new Promise((resolve) => idp.stdout?.once('data', resolve));

      // A private mount namespace: every mount read-only except the state volume, then uid 10001.
      const sandbox = `set -e
mount --bind "$STATE" "$STATE"
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$m" in "$STATE"|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac
done
if touch /.gatehouse-ro-probe "$(dirname "$STATE")/ro-probe" 2>/dev/null; then echo "the root file system is writable" >&2; exit 97; fi
cd "$WORKDIR"
exec setpriv --reuid "$UID_" --regid "$GID_" --clear-groups -- env -i PATH="$PATH" "$@"`;
      const g = net.spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          sandbox,
          'sandbox',
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          ...command,
        ],
        {
          env: {
            PATH: process.env.PATH,
            STATE: state,
            WORKDIR: mapPath(d.workdir),
            UID_: String(uid),
            GID_: String(gid),
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      children.push(g);
      let stderr = '';
      g.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => g.once('exit', resolve));
      expect(await until(() => stderr.includes('"event":"listening"'), 30_000), stderr).toBe(true);

      // The HEALTHCHECK command, as the image runs it.
      const health = await net.run(process.execPath, [mapPath('/opt/gatehouse/healthcheck.mjs')], {
        ...process.env,
        ...env,
      });
      expect(health.status, health.stderr).toBe(0);
      // A bot's token from the compose IdP, then a real MCP client through the gateway.
      const tokenAnswer = await net.run('curl', [
        '-sS',
        '-u',
        `ci-bot:${botSecret}`,
        '-d',
        'grant_type=client_credentials',
        '-d',
        'scope=mcp:tools',
        '-d',
        'resource=http://localhost:8080/mcp',
        'http://localhost:9000/token',
      ]);
      const token = (JSON.parse(tokenAnswer.stdout) as { access_token: string }).access_token;
      const client = await net.run(
        process.execPath,
        [
          join(ROOT, 'test/fixtures/clients/http-client.mjs'),
          'http://localhost:8080/mcp',
          'everything__echo',
        ],
        { ...process.env, MCP_TOKEN: token },
      );
      expect(JSON.parse(client.stdout), `${client.stdout}\n${stderr}`).toMatchObject({
        ok: true,
        echo: [{ type: 'text', text: 'Echo: by name' }],
      });
      const anonymous = await net.run('curl', [
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        'POST',
        'http://localhost:8080/mcp',
      ]);
      expect(anonymous.stdout).toBe('401');

      // Codex (0.169) signs in as a person would: dynamic registration, PKCE, the IdP's login page.
      const codex = await codexSignsIn(net, 'alice');
      expect(codex.before).toBe('not_logged_in');
      expect([codex.login.status, codex.after]).toEqual([0, 'o_auth']);
      // The token Codex holds is alice's at the gateway: her groups put get-env (finance) in view.
      const asAlice = await net.run(
        process.execPath,
        [
          join(ROOT, 'test/fixtures/clients/http-client.mjs'),
          'http://localhost:8080/mcp',
          'everything__echo',
        ],
        { ...process.env, MCP_TOKEN: codex.token },
      );
      expect(JSON.parse(asAlice.stdout), asAlice.stdout).toMatchObject({ ok: true });
      expect(JSON.parse(asAlice.stdout).tools).toBeGreaterThan(JSON.parse(client.stdout).tools);

      g.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      expect(stderr).not.toMatch(/EROFS|EACCES|read-only file system/i);
      // Everything written went to the volume, as the image's user.
      const written = readdirSync(state);
      expect(written).toContain('audit.db');
      for (const f of written) expect(statSync(join(state, f)).uid, f).toBe(uid);
    }, 120_000);
  },
);
