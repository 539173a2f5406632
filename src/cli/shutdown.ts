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
