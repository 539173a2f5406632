/**
 * Work that must finish before the process exits on a signal (the audit trail's last records
 * and its closing checkpoint). Bounded: a hook that hangs cannot keep the process alive.
 */
const hooks = new Set<() => Promise<void>>();

export function onShutdown(hook: () => Promise<void>): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

export async function runShutdownHooks(timeoutMs = 3000): Promise<void> {
  const pending = [...hooks].map((h) => h().catch(() => undefined));
  hooks.clear();
  await Promise.race([
    Promise.all(pending),
    new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]);
}

/**
 * A signal a running command handles itself instead of stopping the process (`--http`: SIGTERM
 * drains, SIGHUP reloads TLS). `once`: the handler is used up by the first signal, so a second
 * one stops the process as usual (an operator can always cut a drain short).
 */
const signalHandlers = new Map<string, { handler: () => void; once: boolean }>();

export function onSignal(signal: NodeJS.Signals, handler: () => void, once = false): () => void {
  signalHandlers.set(signal, { handler, once });
  return () => {
    if (signalHandlers.get(signal)?.handler === handler) signalHandlers.delete(signal);
  };
}

/** Runs the command's own handler for `signal`; false when there is none (stop as usual). */
export function handleSignal(signal: NodeJS.Signals): boolean {
  const entry = signalHandlers.get(signal);
  if (!entry) return false;
  if (entry.once) signalHandlers.delete(signal);
  entry.handler();
  return true;
}
