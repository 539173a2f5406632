import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSnapshot, writeIfUnchanged } from './config-files.js';

/**
 * What `gatehouse connect` wrote, kept in `$GATEHOUSE_HOME/connect-state.json`, so
 * `disconnect` knows which backup belongs to a client file and whether the file was edited
 * after connect (its hash then differs from the one recorded).
 */
export interface ConnectRecord {
  client: string;
  file: string;
  /** The client file as it was before connect (null: connect created the file). */
  backup: string | null;
  /** sha256 of the client file as connect wrote it. */
  written_sha256: string;
  servers: string[];
  gatehouse_config: string;
  at: string;
  /** connect created the client file (it did not exist): disconnect removes it. */
  created?: boolean;
  /** `--remote`: the team gateway's URL the entry points at (nothing moved to Gatehouse's config). */
  remote?: string;
}

interface StateFile {
  version: 1;
  connections: ConnectRecord[];
}

export function stateFile(gatehouseHome: string): string {
  return join(gatehouseHome, 'connect-state.json');
}

export function readConnectState(gatehouseHome: string): ConnectRecord[] {
  const file = stateFile(gatehouseHome);
  if (!existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StateFile>;
    return Array.isArray(parsed.connections) ? parsed.connections : [];
  } catch {
    return [];
  }
}

/** The latest connect of `client` into `file`. */
export function latestRecord(
  records: readonly ConnectRecord[],
  client: string,
  file: string,
): ConnectRecord | undefined {
  return [...records].reverse().find((r) => r.client === client && r.file === file);
}

export function saveConnectState(
  gatehouseHome: string,
  update: (records: ConnectRecord[]) => ConnectRecord[],
): void {
  const snap = readSnapshot(stateFile(gatehouseHome));
  const next: StateFile = { version: 1, connections: update(readConnectState(gatehouseHome)) };
  writeIfUnchanged(snap, JSON.stringify(next, null, 2) + '\n', {
    backup: false,
    now: new Date(),
  });
}
