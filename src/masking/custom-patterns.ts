import { setFlagsFromString } from 'node:v8';

/** An admin's named regex (`[gatehouse_masking.patterns]`): matches are masked as `kind`. */
export interface CustomPattern {
  kind: string;
  source: string;
  regex: RegExp;
}

/** Matches shorter than this are ignored: a one-character rule would shred every result. */
export const MIN_CUSTOM_MATCH = 4;

const KIND = /^[a-z][a-z0-9_]{0,31}$/;
let linearEngineOn = false;

/**
 * Compiles an admin's regex on V8's linear-time engine (the `l` flag): a pattern that could
 * backtrack catastrophically — backreferences, lookarounds, large counted repeats — cannot be
 * compiled at all, so a bad rule is rejected when requirements load instead of stalling the
 * gateway on a hostile result. Returns the compiled pattern or the reason and the fix.
 */
export function compileCustomPattern(
  kind: string,
  source: string,
  ignoreCase = false,
): CustomPattern | { error: string } {
  if (!KIND.test(kind))
    return {
      error: `pattern name '${kind}' must be lower-case letters, digits and _ (it becomes [REDACTED:${kind.toLowerCase().replace(/[^a-z0-9_]/g, '_') || 'name'}])`,
    };
  if (source.length === 0) return { error: 'is empty' };
  if (source.length > 1024) return { error: 'is longer than 1024 characters' };
  try {
    new RegExp(source, 'u');
  } catch (err) {
    return { error: `is not a valid regular expression: ${(err as Error).message}` };
  }
  enableLinearEngine();
  let regex: RegExp;
  try {
    regex = new RegExp(source, ignoreCase ? 'gil' : 'gl');
  } catch {
    return {
      error:
        'cannot run in linear time, so a hostile result could stall the gateway: remove backreferences (\\1) and lookarounds ((?=, (?!, (?<=, (?<!), and write large counted repeats like {1,64} as + or {1,16}',
    };
  }
  if (regex.test('')) return { error: 'matches the empty string: every result would be masked' };
  regex.lastIndex = 0;
  return { kind, source, regex };
}

function enableLinearEngine(): void {
  if (linearEngineOn) return;
  // Only adds the `l` flag; regexes without it are unchanged.
  setFlagsFromString('--enable-experimental-regexp-engine');
  linearEngineOn = true;
}
