import { createHmac, randomBytes } from 'node:crypto';

/** `⟦email:7f3a9c⟧`: a reversible token. Brackets no detector matches and no JSON escapes. */
export const TOKEN_PATTERN = /⟦([a-z][a-z0-9_]{0,31}):([0-9a-f]{6,16})⟧/g;

/** What a token stands for, and the server whose output it was minted from. */
export interface TokenEntry {
  kind: string;
  value: string;
  scope: string;
}

export function formatToken(kind: string, id: string): string {
  return `⟦${kind}:${id}⟧`;
}

/**
 * One session's reversible tokens: the same value of the same kind from the same server always
 * gets the same token within the session, and a token means nothing outside it (ids are keyed
 * hashes under a key that never leaves the process). Tokens are scoped to the server whose output
 * minted them: the same value from two servers gets two unrelated tokens, so no server (and no
 * model) can use tokens to learn that its value equals another server's. The real values live
 * only in this process's memory.
 */
export class TokenVault {
  private readonly byToken = new Map<string, TokenEntry>();
  private readonly byValue = new Map<string, string>();
  private readonly key: Buffer;
  /** Bounds memory: a session that sees more distinct values than this masks them in full. */
  readonly capacity: number;

  constructor(key: Buffer = randomBytes(32), capacity = 100_000) {
    this.key = key;
    this.capacity = capacity;
  }

  /**
   * The token for a value seen in `scope`'s output (a server name), or null when the vault is
   * full (the caller masks in full).
   */
  tokenFor(kind: string, value: string, scope = ''): string | null {
    const k = `${scope}\u0000${kind}\u0000${value}`;
    const known = this.byValue.get(k);
    if (known) return known;
    if (this.byToken.size >= this.capacity) return null;
    const digest = createHmac('sha256', this.key).update(k).digest('hex');
    for (let len = 6; len <= 16; len += 2) {
      const token = formatToken(kind, digest.slice(0, len));
      if (!this.byToken.has(token)) {
        this.byToken.set(token, { kind, value, scope });
        this.byValue.set(k, token);
        return token;
      }
    }
    return null;
  }

  /** The real value behind a token this session issued, or null. */
  valueOf(token: string): TokenEntry | null {
    return this.byToken.get(token) ?? null;
  }

  get size(): number {
    return this.byToken.size;
  }
}
