import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PreparedEvent, StoredRecord } from './chain.js';
import { COLUMN_NAMES } from './event.js';
import type { AuditStore } from './store.js';
import { AuditStoreError } from './store.js';

/**
 * One append point per store per machine.
 *
 * Every Gatehouse process appends to its store inside one exclusive transaction, so any number of
 * them keep one linear chain. But 32 processes each taking the store's write lock for their own
 * small transactions spend more time handing the lock over than writing. So the first gateway on
 * a machine to open a store also *hosts* a local socket for it; the others hand it their
 * prepared (canonical, masked) records, and the host commits everyone's records in one
 * transaction — group commit across processes. Nothing about correctness depends on it: the
 * host appends through the same locked transaction, and a process that cannot reach a host
 * appends to the store itself.
 *
 * The socket lives in a directory only this OS user can enter (checked, or sharing is off). A
 * host that leaves answers what it already took and tells later senders to go elsewhere; if a
 * host dies, its clients look in the store for the records they had sent (by time and body) and
 * append only the ones that are missing, then elect a new host.
 */

/** Appends prepared events as one batch; resolves with their stored records once durable. */
export type AppendBatch = (events: readonly PreparedEvent[]) => Promise<StoredRecord[]>;

export type SharedRole = 'host' | 'client' | 'direct';

/** Bumped whenever the frames below change. */
const WIRE_VERSION = 1;
/** Largest frame a host accepts (a batch of 512 records of 16 KiB results is ~10 MiB). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** How often a host checks that the socket path is still its own. */
const OWNERSHIP_CHECK_MS = 2000;

/**
 * The directory for this user's sockets: `$XDG_RUNTIME_DIR/gatehouse`, else
 * `$TMPDIR/gatehouse-UID`. Null (sharing off) unless it is a real directory owned by this user
 * that nobody else can enter — another user must never receive, or forge, our records.
 */
export function sharedAppenderDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return null;
  const uid = process.getuid();
  const runtime = env.XDG_RUNTIME_DIR;
  const dir =
    runtime && runtime.length < 60
      ? join(runtime, 'gatehouse')
      : join(tmpdir(), `gatehouse-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/** The socket for one store: named by the store's id and where it is, never by a secret. */
export function sharedAppenderPath(store: AuditStore, dir: string): string {
  let where = store.location;
  if (store.kind === 'sqlite') {
    try {
      where = realpathSync(store.location);
    } catch {
      where = resolve(store.location);
    }
  }
  const digest = createHash('sha256')
    .update(`${store.kind}\n${store.storeId}\n${where}`)
    .digest('hex')
    .slice(0, 24);
  // The wire version is in the name: gateways of another format never meet (they append directly).
  return join(dir, `audit-v${WIRE_VERSION}-${digest}.sock`);
}

/** The host left before writing these: nothing was written, send them elsewhere. */
class HostLeaving extends Error {}
/** The connection to the host broke with these unanswered: they may or may not be written. */
class HostLost extends Error {}

interface WireRequest {
  id: number;
  events: readonly PreparedEvent[];
}
type WireReply =
  | { id: number; records: [number, string, string][] }
  | { id: number; error: string; code: string }
  | { id: number; retry: true }
  | { bye: true };

/** Splits a byte stream into newline-terminated JSON frames (JSON text never holds a raw \n). */
function frames(socket: net.Socket, onFrame: (value: unknown) => void): void {
  let buffered: Buffer[] = [];
  let size = 0;
  socket.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const part = chunk.subarray(start, nl);
      const line = size > 0 ? Buffer.concat([...buffered, part]).toString() : part.toString();
      buffered = [];
      size = 0;
      start = nl + 1;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      onFrame(value);
    }
    if (start < chunk.length) {
      buffered.push(chunk.subarray(start));
      size += chunk.length - start;
      if (size > MAX_FRAME_BYTES) socket.destroy();
    }
  });
}

/**
 * Lets a socket keep the process alive only while it has work in flight: an idle connection to
 * (or from) another gateway must never stop a gateway from exiting, a batch being written must.
 */
function holdWhileBusy(socket: net.Socket): { begin(): void; end(): void } {
  let busy = 0;
  socket.unref();
  return {
    begin: () => {
      if (busy++ === 0) socket.ref();
    },
    end: () => {
      if (--busy === 0) socket.unref();
    },
  };
}

function isPreparedEvent(e: unknown): e is PreparedEvent {
  if (typeof e !== 'object' || e === null) return false;
  const { ts, columns, body } = e as Record<string, unknown>;
  if (typeof ts !== 'string' || ts.length > 64 || typeof body !== 'string') return false;
  if (typeof columns !== 'object' || columns === null) return false;
  const c = columns as Record<string, unknown>;
  return (
    typeof c.type === 'string' &&
    COLUMN_NAMES.every((k) => c[k] === null || typeof c[k] === 'string') &&
    Object.keys(c).length === COLUMN_NAMES.length
  );
}

/** A client's connection to the host: one request at a time per writer, answered in any order. */
class HostConnection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { events: readonly PreparedEvent[]; resolve(r: StoredRecord[]): void; reject(e: Error): void }
  >();
  closed = false;
  private leaving = false;
  private readonly busy: { begin(): void; end(): void };

  constructor(
    private readonly socket: net.Socket,
    private readonly onLeaving: () => void,
  ) {
    frames(socket, (value) => {
      if (typeof value === 'object' && value !== null) this.answer(value as WireReply);
    });
    const gone = () => {
      if (this.closed) return;
      this.closed = true;
      for (const p of this.pending.values())
        p.reject(new HostLost('the shared audit appender went away'));
      this.pending.clear();
      onLeaving();
    };
    socket.on('close', gone);
    socket.on('error', gone);
    this.busy = holdWhileBusy(socket);
  }

  append(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    if (this.closed || this.leaving) return Promise.reject(new HostLeaving('not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.busy.begin();
      this.pending.set(id, { events, resolve, reject });
      this.socket.write(`${JSON.stringify({ id, events } satisfies WireRequest)}\n`);
    });
  }

  private answer(reply: WireReply): void {
    if ('bye' in reply) {
      // The host is leaving: send nothing more; end once everything sent is answered.
      this.leaving = true;
      this.onLeaving();
      if (this.pending.size === 0) this.close();
      return;
    }
    const p = this.pending.get((reply as { id?: number }).id ?? -1);
    if (!p) return;
    this.pending.delete((reply as { id: number }).id);
    this.busy.end();
    if (this.leaving && this.pending.size === 0) queueMicrotask(() => this.close());
    if ('records' in reply && Array.isArray(reply.records)) {
      if (reply.records.length !== p.events.length) {
        p.reject(
          new HostLost('the shared audit appender answered with the wrong number of records'),
        );
        return;
      }
      p.resolve(
        reply.records.map(([seq, prev, hash], i) => ({
          ...(p.events[i] as PreparedEvent),
          seq,
          prev,
          hash,
        })),
      );
    } else if ('retry' in reply) {
      p.reject(new HostLeaving('the shared audit appender is shutting down'));
    } else {
      const r = reply as { error?: unknown; code?: unknown };
      p.reject(
        new AuditStoreError(
          String(r.error ?? 'the shared audit appender refused the records'),
          r.code === 'write_failed' ? 'write_failed' : 'usage',
        ),
      );
    }
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }
}

/** The hosting side: takes frames from other processes and appends them with its own records. */
class HostServer {
  private leaving = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly ownership: NodeJS.Timeout;

  constructor(
    private readonly server: net.Server,
    private readonly path: string,
    private readonly ino: number,
    append: AppendBatch,
    onDisowned: () => void,
  ) {
    // Listening never keeps the process alive on its own (a gateway that stops without closing
    // its writer still exits); neither do idle connections (see holdWhileBusy).
    server.unref();
    server.on('connection', (socket) => {
      const busy = holdWhileBusy(socket);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      frames(socket, (value) => {
        const req = (
          typeof value === 'object' && value !== null ? value : {}
        ) as Partial<WireRequest>;
        const id = typeof req?.id === 'number' ? req.id : -1;
        const reply = (r: WireReply) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
        };
        if (this.leaving) return reply({ id, retry: true });
        if (!Array.isArray(req.events) || !req.events.every(isPreparedEvent)) {
          return reply({ id, error: 'a malformed audit batch was refused', code: 'invalid' });
        }
        busy.begin();
        append(req.events)
          .then(
            (records) => reply({ id, records: records.map((r) => [r.seq, r.prev, r.hash]) }),
            (err: unknown) =>
              reply({
                id,
                error: err instanceof Error ? err.message : String(err),
                code: err instanceof AuditStoreError ? err.code : 'write_failed',
              }),
          )
          .finally(busy.end);
      });
    });
    // If another process replaced our socket path (a stale-socket race), stop hosting: its
    // host serves the newcomers, and ours re-joins as a client.
    this.ownership = setInterval(() => {
      if (!this.ownsPath()) onDisowned();
    }, OWNERSHIP_CHECK_MS);
    this.ownership.unref();
  }

  private ownsPath(): boolean {
    try {
      return lstatSync(this.path).ino === this.ino;
    } catch {
      return false;
    }
  }

  /** From now on, new frames are answered "go elsewhere"; frames already taken still finish. */
  stopAccepting(): void {
    if (this.leaving) return;
    this.leaving = true;
    clearInterval(this.ownership);
    if (this.ownsPath()) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
    this.server.close();
  }

  /**
   * Says goodbye to every client (call once every frame taken is answered) and waits — at most
   * `graceMs` — for each to end its side, answering "go elsewhere" to anything still in flight,
   * so no client is left not knowing whether its records were written.
   */
  async close(graceMs = 2000): Promise<void> {
    this.stopAccepting();
    const open = [...this.sockets].filter((s) => !s.destroyed);
    for (const s of open) s.write(`${JSON.stringify({ bye: true } satisfies WireReply)}\n`);
    // The grace timer holds the process (idle sockets do not): leaving must not be cut short.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((s) => new Promise((done) => s.once('close', done)))),
      new Promise((done) => (grace = setTimeout(done, graceMs))),
    ]);
    clearTimeout(grace);
    for (const s of this.sockets) s.destroy();
  }
}

function listen(path: string): Promise<{ server: net.Server; ino: number } | 'taken'> {
  // Bind a private name, then hard-link it to the shared one: link() fails if the name exists,
  // so exactly one process wins, and no one ever unlinks a live host's socket by accident.
  const temp = `${path}.${randomUUID().slice(0, 8)}`;
  return new Promise((resolveListen, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(temp, () => {
      server.off('error', reject);
      try {
        chmodSync(temp, 0o600);
        linkSync(temp, path);
        unlinkSync(temp);
        resolveListen({ server, ino: lstatSync(path).ino });
      } catch (err) {
        server.close();
        try {
          unlinkSync(temp);
        } catch {
          // already gone
        }
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') resolveListen('taken');
        else reject(err as Error);
      }
    });
  });
}

function connect(path: string): Promise<net.Socket | 'refused'> {
  return new Promise((resolveConnect, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolveConnect(socket);
    });
    const onError = (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
        ? resolveConnect('refused')
        : reject(err);
    socket.once('error', onError);
  });
}

/**
 * Routes a writer's batches: to the machine's host for this store, or — when this process is the
 * host, or no host can be reached — straight to the store.
 */
export class SharedAppender {
  private host: HostServer | null = null;
  private client: HostConnection | null = null;
  private joining: Promise<void> | null = null;
  private closed = false;

  /**
   * @param hostAppend how this process appends records that other processes send it (its own
   *   writer's queue, so theirs and its own share a transaction).
   */
  constructor(
    private readonly store: AuditStore,
    private readonly path: string,
    private readonly hostAppend: AppendBatch,
  ) {
    this.joining = this.join();
  }

  get role(): SharedRole {
    return this.host ? 'host' : this.client ? 'client' : 'direct';
  }

  /** Settles once this process knows whether it hosts, is a client, or appends directly. */
  async ready(): Promise<SharedRole> {
    while (this.joining) await this.joining;
    return this.role;
  }

  async append(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    while (this.joining) await this.joining;
    const client = this.client;
    if (!client) return this.store.append(events);
    try {
      return await client.append(events);
    } catch (err) {
      if (err instanceof HostLeaving) return this.store.append(events);
      if (err instanceof HostLost) return this.recover(events);
      throw err;
    }
  }

  /**
   * The host died with our batch unanswered: it may have committed it. Take from the store the
   * records we sent that are there (same time and body), and append only the rest.
   */
  private async recover(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    const since = events.reduce((min, e) => (e.ts < min ? e.ts : min), events[0]?.ts ?? '');
    const found = new Map<string, StoredRecord>();
    for (const r of await this.store.query({ since })) found.set(`${r.ts}\n${r.body}`, r);
    const out: (StoredRecord | null)[] = events.map((e) => found.get(`${e.ts}\n${e.body}`) ?? null);
    const missing = events.filter((_, i) => out[i] === null);
    const written = missing.length > 0 ? await this.store.append(missing) : [];
    let next = 0;
    return out.map((r) => r ?? (written[next++] as StoredRecord));
  }

  private async join(): Promise<void> {
    try {
      for (let attempt = 0; attempt < 3 && !this.closed; attempt++) {
        const hosted = await listen(this.path);
        if (hosted !== 'taken') {
          const host: HostServer = new HostServer(
            hosted.server,
            this.path,
            hosted.ino,
            this.hostAppend,
            () => this.host === host && this.rejoin(),
          );
          this.host = host;
          return;
        }
        let ino: number | null = null;
        try {
          ino = lstatSync(this.path).ino;
        } catch {
          continue; // the host just left: try again
        }
        const socket = await connect(this.path);
        if (socket !== 'refused') {
          const client: HostConnection = new HostConnection(
            socket,
            () => this.client === client && this.rejoin(),
          );
          this.client = client;
          return;
        }
        // A socket left by a host that died: remove it (only if it is still that one) and retry.
        try {
          if (lstatSync(this.path).ino === ino) unlinkSync(this.path);
        } catch {
          // gone already
        }
      }
    } catch {
      // Sockets unavailable here: append directly (correct, only slower).
    } finally {
      this.joining = null;
    }
  }

  /** The host went away (or we lost our socket path): elect again, unless closing. */
  private rejoin(): void {
    if (this.closed) return;
    if (this.host) {
      void this.host.close();
      this.host = null;
    }
    this.client = null;
    this.joining ??= this.join();
  }

  /** Stop taking other processes' records (before the writer drains its queue). */
  stopHosting(): void {
    this.host?.stopAccepting();
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.joining) await this.joining;
    await this.host?.close();
    this.client?.close();
    this.host = null;
    this.client = null;
  }
}
