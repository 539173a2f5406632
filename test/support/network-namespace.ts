import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from './fixtures.js';

/**
 * A private network namespace for deployment tests: its own loopback with extra addresses (a
 * gateway, a proxy, a client) and its own /etc/hosts (a bind mount in a private mount
 * namespace), so real clients resolve DNS-like names through the system resolver without the
 * machine's /etc/hosts or network being touched. Needs root (or user namespaces) and `ip`.
 */
export interface PrivateNetwork {
  /** Starts a process inside the namespace (nsenter execs it: the pid is the process's own). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command inside the namespace to completion. */
  run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  close(): void;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Whether a namespace can be made here. Under CI it must: a missing capability fails the run
 * (as PostgreSQL does) instead of skipping; elsewhere the tests are skipped with a notice.
 */
export function namespacesAvailable(): boolean {
  const probe = spawnSync('unshare', ['--net', '--mount', 'ip', 'link', 'set', 'lo', 'up'], {
    encoding: 'utf8',
  });
  if (probe.status === 0) return true;
  const why = (probe.error?.message ?? probe.stderr).trim();
  if (process.env.CI === 'true')
    throw new Error(
      `a private network namespace cannot be created (unshare --net --mount: ${why}): under CI the DNS-name deployment tests must run`,
    );
  console.warn(`\n⚠ no private network namespace (${why}): the DNS-name tests are SKIPPED\n`);
  return false;
}

/** Makes the namespace: `addresses` on its loopback, `hosts` (name → address) as its /etc/hosts. */
export async function privateNetwork(
  addresses: readonly string[],
  hosts: Record<string, string>,
): Promise<PrivateNetwork> {
  const hostsFile = join(tempDir(), 'hosts');
  writeFileSync(
    hostsFile,
    `127.0.0.1 localhost\n${Object.entries(hosts)
      .map(([name, address]) => `${address} ${name}`)
      .join('\n')}\n`,
  );
  const setup = [
    'set -e',
    'ip link set lo up',
    ...addresses.map((a) => `ip addr add ${a}/32 dev lo`),
    `mount --bind ${JSON.stringify(hostsFile)} /etc/hosts`,
    'echo ready',
    'exec sleep 3600',
  ].join('\n');
  const holder = spawn(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', 'sh', '-c', setup],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  holder.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    holder.once('exit', (code) =>
      reject(new Error(`the private network could not be set up (exit ${code}): ${err.trim()}`)),
    );
  });
  const enter = (command: string, args: string[]) => [
    '--target',
    String(holder.pid),
    '--net',
    '--mount',
    '--',
    command,
    ...args,
  ];
  return {
    spawn: (command, args, options = {}) => spawn('nsenter', enter(command, args), options),
    run(command, args, env = process.env) {
      const child = spawn('nsenter', enter(command, args), {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      return new Promise((resolve) =>
        child.once('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        }),
      );
    },
    close: () => void holder.kill('SIGKILL'),
  };
}

/** What a namespace test started (processes, the namespace): killed after each test. */
export function cleanedAfterEach(): { children: ChildProcess[]; net: PrivateNetwork | null } {
  const state: { children: ChildProcess[]; net: PrivateNetwork | null } = {
    children: [],
    net: null,
  };
  afterEach(() => {
    for (const c of state.children.splice(0)) c.kill('SIGKILL');
    state.net?.close();
    state.net = null;
  });
  return state;
}
