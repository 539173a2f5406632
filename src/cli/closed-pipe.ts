/**
 * A reader that stops early (`gatehouse audit export | head -1`) closes our stdout: Unix tools end
 * quietly then, and so do we. Node reports the closed pipe as an `error` event on the stream, which
 * would otherwise crash the process with a stack trace and exit 1 ("a bug").
 *
 * Installed once for the whole process (every command, the gateways included), not per command.
 * Later writes are dropped; the shutdown hooks still run (the audit trail's last records and its
 * closing checkpoint), then the process exits with the status it already had (0 if none).
 */
export function endQuietlyOnClosedPipe(
  streams: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
  shutdown: () => Promise<void>,
  exit: (code: number) => void,
): void {
  let ending = false;
  const onError = (stream: NodeJS.WriteStream) => (error: NodeJS.ErrnoException) => {
    if (!isClosedPipe(error)) {
      // Not a closed reader: a real I/O failure is still reported, never swallowed.
      if (stream === streams.stderr) return; // nowhere left to report it
      throw error;
    }
    // Keep later writes from raising again; they go nowhere, as in a Unix pipeline.
    stream.write = (() => true) as NodeJS.WriteStream['write'];
    if (stream !== streams.stdout || ending) return;
    ending = true;
    void shutdown().finally(() =>
      exit(typeof process.exitCode === 'number' ? process.exitCode : 0),
    );
  };
  streams.stdout.on('error', onError(streams.stdout));
  streams.stderr.on('error', onError(streams.stderr));
}

/** EPIPE (reader gone) and the same seen on a destroyed stream. */
export function isClosedPipe(error: NodeJS.ErrnoException): boolean {
  return error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';
}
