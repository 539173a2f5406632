import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { MaskCounts } from '../../masking/engine.js';
import { Masker, MaskingError } from '../../masking/engine.js';
import { builtInRules } from '../../masking/detect.js';
import { maskingExemption } from '../../masking/policy.js';
import { maskTextContent } from '../../masking/mask-mcp.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printDiagnostics } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';

export interface MaskOptions {
  json?: boolean;
  check?: boolean;
  server?: string;
  tool?: string;
  listDetectors?: boolean;
}

/** Text is masked in pieces of about this size, cut at line ends (bounded memory on huge logs). */
const CHUNK_BYTES = 1 << 20;
/** A PEM block is never cut in two unless it is absurdly long. */
const MAX_CARRY_BYTES = 4 << 20;

interface FindingOut {
  kind: string;
  rule: string;
  start: number;
  end: number;
  line: number;
  column: number;
}

/**
 * `gatehouse mask [FILE|-]`: the gateway's masking engine and the effective requirements
 * (`[gatehouse_masking]`) applied to a file or stdin. Prints the masked text, or with `--json`
 * the findings (kind, rule, offsets, line, column) and never the values; `--check` exits 16
 * when anything would be masked. Streams in line-aligned chunks, so a huge log needs little
 * memory; input that is not UTF-8 is handled byte for byte (latin1) so nothing else changes.
 */
export async function runMask(
  global: GlobalOptions,
  file: string | undefined,
  opts: MaskOptions,
  io: CliIo,
  stdin: Readable,
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  printDiagnostics(io, world.requirements.diagnostics);
  if (world.requirements.invalid) {
    io.stderr(
      'error: the requirements are invalid (see above); masking rules cannot be trusted until they are fixed: `gatehouse requirements check`\n',
    );
    return ExitCode.requirementsInvalid;
  }
  const policy = world.requirements.requirements.masking;
  if (opts.listDetectors) return listDetectors(policy, opts, io);
  if (opts.tool && !opts.server) {
    io.stderr('error: --tool needs --server (the tool of which server?)\n');
    return ExitCode.usage;
  }
  const exempt = opts.server ? maskingExemption(policy, opts.server, opts.tool ?? null) : null;
  const masker = new Masker(policy);
  const path = file && file !== '-' ? resolve(io.cwd, file) : null;
  const input = path ? createReadStream(path) : stdin;
  const counts: MaskCounts = {};
  const findings: FindingOut[] = [];
  let offset = 0;
  let line = 1;
  let column = 1;
  const advance = (text: string, upTo: number, from: number) => {
    for (let i = from; i < upTo; i += 1) {
      if (text.charCodeAt(i) === 0x0a) {
        line += 1;
        column = 1;
      } else column += 1;
    }
  };
  const handle = (chunk: Buffer): void => {
    const latin1 = !isUtf8(chunk);
    const text = chunk.toString(latin1 ? 'latin1' : 'utf8');
    if (exempt) {
      if (!opts.json && !opts.check) {
        if (latin1 && io.stdoutBytes) io.stdoutBytes(chunk);
        else io.stdout(text);
      }
      return;
    }
    if (opts.json || opts.check) {
      let at = 0;
      for (const f of masker.findings(text)) {
        advance(text, f.start, at);
        at = f.start;
        findings.push({
          kind: f.kind,
          rule: f.rule,
          start: offset + f.start,
          end: offset + f.end,
          line,
          column,
        });
        counts[f.kind] = (counts[f.kind] ?? 0) + 1;
      }
      advance(text, text.length, at);
    } else {
      const masked = maskTextContent(masker, text, counts);
      if (latin1 && io.stdoutBytes) io.stdoutBytes(Buffer.from(masked, 'latin1'));
      else io.stdout(masked);
    }
    offset += text.length;
  };
  try {
    await readChunks(input, handle);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.stderr(`error: cannot read ${path ?? 'stdin'}: ${(err as Error).message}\n`);
      return ExitCode.notFound;
    }
    if (err instanceof MaskingError) {
      io.stderr(
        `error: could not mask ${path ?? 'stdin'} safely (${err.message}); nothing more was printed\n`,
      );
      return ExitCode.maskingFailed;
    }
    throw err;
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (opts.json) {
    io.stdout(`${JSON.stringify({ input: path ?? 'stdin', exempt, counts, findings }, null, 2)}\n`);
  } else if (opts.check) {
    const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`);
    io.stdout(total === 0 ? 'nothing to mask\n' : `would mask ${parts.join(', ')}\n`);
  } else if (io.isTTY && total > 0) {
    io.stderr(`masked ${total} value(s)\n`);
  }
  return opts.check && total > 0 ? ExitCode.maskingFound : ExitCode.ok;
}

function listDetectors(
  policy: ReturnType<typeof loadWorld>['requirements']['requirements']['masking'],
  opts: MaskOptions,
  io: CliIo,
): ExitCodeValue {
  const exempt = new Set(policy.exemptDetectors);
  const rows = [
    ...builtInRules({ ipAddresses: true }).map((r) => ({
      id: r.id,
      kind: r.kind,
      source: 'built-in',
      enabled:
        !exempt.has(r.id) && !exempt.has(r.kind) && (r.kind !== 'ip_address' || policy.ipAddresses),
    })),
    ...policy.patterns.map((p) => ({
      id: `pattern:${p.kind}`,
      kind: p.kind,
      source: 'requirements',
      enabled: !exempt.has(p.kind),
    })),
    ...policy.fields.map((f) => ({
      id: `field:${f.pattern.source}`,
      kind: f.kind,
      source: 'requirements',
      enabled: true,
    })),
  ];
  if (opts.json) {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return ExitCode.ok;
  }
  const width = Math.max(...rows.map((r) => r.id.length));
  for (const r of rows) {
    io.stdout(`${r.id.padEnd(width)}  ${r.kind.padEnd(22)} ${r.enabled ? '' : 'off'}\n`);
  }
  io.stdout(`${rows.length} detectors, ${rows.filter((r) => r.enabled).length} on\n`);
  return ExitCode.ok;
}

/** Calls `handle` with line-aligned pieces of the input (PEM blocks kept whole). */
async function readChunks(input: Readable, handle: (chunk: Buffer) => void): Promise<void> {
  let pending = Buffer.alloc(0);
  const flush = (final: boolean) => {
    while (pending.length >= CHUNK_BYTES || (final && pending.length > 0)) {
      let cut =
        final && pending.length < CHUNK_BYTES
          ? pending.length
          : pending.lastIndexOf(0x0a, CHUNK_BYTES) + 1;
      if (cut <= 0) cut = Math.min(pending.length, CHUNK_BYTES); // one enormous line
      if (!final || cut < pending.length) cut = keepPemWhole(pending, cut);
      handle(pending.subarray(0, cut));
      pending = pending.subarray(cut);
    }
  };
  for await (const data of input) {
    pending = Buffer.concat([
      pending,
      typeof data === 'string' ? Buffer.from(data) : (data as Buffer),
    ]);
    flush(false);
  }
  flush(true);
}

/** Moves a cut back to before an unterminated `-----BEGIN` line, unless that carries too much. */
function keepPemWhole(buf: Buffer, cut: number): number {
  const head = buf.subarray(0, cut);
  const begin = head.lastIndexOf('-----BEGIN');
  if (begin < 0 || head.indexOf('-----END', begin) >= 0) return cut;
  const lineStart = head.lastIndexOf(0x0a, begin) + 1;
  if (lineStart === 0 || cut - lineStart > MAX_CARRY_BYTES) return cut;
  return lineStart;
}
