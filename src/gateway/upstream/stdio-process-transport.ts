import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import type { StdioTransport } from '../../config/mcp-server.js';
import { trackGroup, untrackGroup } from './process-groups.js';
import { maskSecrets } from '../../masking/detect.js';
import { maskText } from '../../masking/mask-text.js';
import type { ExecutablePin } from '../../requirements/executable-pin.js';
import type { LaunchPlan } from '../../requirements/executable.js';
import {
  changedSinceHash,
  ExecutableError,
  planLaunch,
  planMismatch,
  releaseLaunch,
} from '../../requirements/executable.js';

const STDERR_TAIL_BYTES = 4096;

/**
 * What a server writes outside the protocol (stray stdout lines, stderr) can carry anything it
 * read: Gatehouse quotes it in its own stderr and the audit only with secrets AND personal data
 * masked, as the engine masks results.
 */
export function maskServerText(text: string): string {
  return maskText(maskSecrets(text).text);
}

export { childEnvironment } from '../../config/child-environment.js';

/** A pinned server refused at (re)start: the reason is for the admin, shown and audited whole. */
export class PinRefusal extends Error {
  readonly code = 'PIN_MISMATCH';
}

/**
 * An MCP stdio client transport whose server runs in its own process group, so closing it
 * kills the whole tree (`npx` → node → the real server), not just the direct child.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | null = null;
  private stdoutBuffer = '';
  private stderrTail = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private exitBeforeClose: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private closing = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: StdioTransport,
    private readonly parentEnv: NodeJS.ProcessEnv,
    /** The rule's sha256 pin: checked at every start, against exactly the file spawned. */
    private readonly pin: ExecutablePin | null = null,
  ) {}

  /** The last few KB the server wrote to stderr, for failure messages (secrets and PII masked). */
  get stderr(): string {
    return maskServerText(this.stderrTail);
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exit;
  }

  /** The exit status when the server exited by itself, before anyone called close(). */
  get exitedByItself(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exitBeforeClose;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Resolves the command with the one rule Gatehouse also hashes with, re-checks the pin (every
   * start, restarts included) and spawns exactly that absolute file.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let plan: LaunchPlan;
      try {
        plan = planLaunch(this.config, this.parentEnv, this.pin !== null);
      } catch (err) {
        reject(
          err instanceof ExecutableError
            ? new PinRefusal(`cannot verify the sha256 pin: ${err.message}`)
            : err,
        );
        return;
      }
      const refused = this.pin ? planMismatch(plan, this.pin) : null;
      if (refused) {
        releaseLaunch(plan);
        reject(new PinRefusal(refused));
        return;
      }
      const child = spawn(plan.file, plan.args, {
        argv0: plan.argv0,
        cwd: this.config.cwd ?? undefined,
        env: plan.environment,
        stdio:
          plan.execFd === null ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', plan.execFd],
        detached: true,
      });
      this.child = child;
      this.exited = new Promise((done) => child.once('close', () => done()));
      child.once('error', (err) => {
        releaseLaunch(plan);
        reject(err);
        this.onerror?.(err);
      });
      child.once('spawn', () => {
        if (child.pid) trackGroup(child.pid);
        const changed = this.pin ? changedSinceHash(plan) : null;
        releaseLaunch(plan);
        if (changed && child.pid) {
          signalGroup(-child.pid, 'SIGKILL');
          reject(new PinRefusal(`the pinned executable was stopped: ${changed}`));
          return;
        }
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        if (!this.closing) this.exitBeforeClose = this.exit;
      });
      child.once('close', () => this.onclose?.());
      child.stdout?.on('data', (chunk: Buffer) => this.readStdout(chunk));
      child.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      });
      child.stdin?.on('error', (err) => this.onerror?.(err));
    });
  }

  /**
   * Splits the server's stdout into lines. A line that is not JSON is reported and skipped (a
   * stray console.log must not kill the session); the session goes on.
   */
  private readStdout(chunk: Buffer): void {
    this.stdoutBuffer += chunk.toString('utf8');
    for (
      let nl = this.stdoutBuffer.indexOf('\n');
      nl !== -1;
      nl = this.stdoutBuffer.indexOf('\n')
    ) {
      const line = this.stdoutBuffer.slice(0, nl).replace(/\r$/, '');
      this.stdoutBuffer = this.stdoutBuffer.slice(nl + 1);
      if (line.trim() === '') continue;
      let message: JSONRPCMessage;
      try {
        message = JSON.parse(line) as JSONRPCMessage;
      } catch {
        this.onerror?.(
          new Error(
            `the server printed a line that is not JSON-RPC on stdout (ignored): ${maskServerText(line.slice(0, 160))}`,
          ),
        );
        continue;
      }
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || stdin.destroyed) {
        reject(new Error('server process is not running'));
        return;
      }
      // One message per line, no embedded newlines (JSON.stringify never emits one).
      stdin.write(`${JSON.stringify(message)}\n`, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** stdin EOF → grace → SIGTERM to the group → grace → SIGKILL to the group. */
  async close(): Promise<void> {
    this.closing = true;
    const child = this.child;
    if (!child?.pid) return;
    const group = -child.pid;
    child.stdin?.end();
    // Not unref()d: shutdown must finish even when nothing else keeps the event loop alive.
    const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    await Promise.race([this.exited, wait(500)]);
    signalGroup(group, 'SIGTERM');
    for (let i = 0; i < 20 && groupAlive(group); i++) await wait(50);
    if (groupAlive(group)) {
      signalGroup(group, 'SIGKILL');
      // SIGKILL is delivered asynchronously: wait (bounded) until the tree is really gone.
      for (let i = 0; i < 20 && groupHasLiveMember(group); i++) await wait(50);
    }
    await Promise.race([this.exited, wait(1000)]);
    untrackGroup(child.pid);
    this.child = null;
  }
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(group, signal);
  } catch {
    // already gone
  }
}

function groupAlive(group: number): boolean {
  try {
    process.kill(group, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while any member of the group is still running. Zombies do not count: in a container
 * whose PID 1 never reaps, orphans stay zombies forever, but they hold no resources.
 */
function groupHasLiveMember(group: number): boolean {
  if (!groupAlive(group)) return false;
  if (process.platform !== 'linux') return true;
  try {
    const pgid = String(-group);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[2] === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    }
    return false;
  } catch {
    return true;
  }
}
