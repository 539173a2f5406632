/**
 * Which of the rules' keywords occur in a text, case-insensitively, and where: one pass of an
 * Aho–Corasick automaton compiled to a dense transition table over the keywords' own
 * characters (every other character is one class that leads back to the root). Each character
 * costs one table look-up, however many keywords there are and however often they occur;
 * a regex alternation of ~200 keywords is tried at every position instead and costs ~10× more
 * on tool output full of `token`, `secret` and `api`. Single-character keywords are looked up
 * with `includes`.
 */
export class KeywordScanner {
  private readonly singles: {
    index: number;
    lower: string;
    upper: string;
    /** Char codes of both cases (-1 when not ASCII: only `includes` finds those). */
    lowerCode: number;
    upperCode: number;
  }[] = [];
  /** Scratch for short texts: which ASCII characters occur. */
  private readonly seen = new Uint8Array(128);
  /** Character class of each ASCII code unit (0: in no keyword). */
  private readonly asciiClass = new Uint8Array(128);
  /** Character class of the non-ASCII characters keywords hold (both cases). */
  private readonly otherClass = new Map<number, number>();
  /**
   * Every UTF-16 code unit's class (both of the above in one 64 KB table): the scan loop does
   * one load per character, with no branch on ASCII.
   */
  private readonly charClass = new Uint8Array(0x10000);
  private readonly classes: number;
  /**
   * `delta[row + class]`: the next state's row (`state × classes`; 0 is the root), or when a
   * word ends in that state, `~(state << 1 | 1 if that word is only a digit)`.
   */
  private readonly delta: Int32Array;
  /** Per state (row / classes), the words (ids into `words`) that end there, suffixes included. */
  private readonly outputs: (readonly number[] | null)[];
  /** Distinct lower-cased multi-character words, each with its length and keyword indexes. */
  private readonly words: { length: number; indexes: number[] }[] = [];
  /**
   * Scratch for one scan: each word's offsets so far, by word id, and the ids that have some in
   * order of first occurrence (an indexed slot per hit, not a map look-up; dense tool output has
   * a keyword every ~50 characters). Emptied before `scan` returns; nothing in it calls back.
   */
  private readonly offsetsById: (number[] | undefined)[];
  private readonly idsFound: number[] = [];
  /**
   * The output id that stands for "an ASCII digit ends here" (-1: digits not tracked). With it
   * the scan hands back the text's digit runs for free (see `scan`).
   */
  private readonly digitId: number = -1;

  /**
   * `digitRuns`: the automaton also treats each ASCII digit as a word of its own, so `scan` can
   * report the maximal digit runs from the same pass (card numbers, IBANs, SSNs, phone numbers
   * and IPs hold digit runs; digits are a few percent of a text, every other character costs
   * nothing more).
   */
  constructor(
    readonly keywords: readonly string[],
    options: { digitRuns?: boolean } = {},
  ) {
    const wordIds = new Map<string, number>();
    keywords.forEach((raw, index) => {
      const word = raw.toLowerCase();
      if (word.length === 1) {
        const upper = word.toUpperCase();
        this.singles.push({
          index,
          lower: word,
          upper,
          lowerCode: asciiCode(word),
          upperCode: asciiCode(upper),
        });
        return;
      }
      if (word.length === 0) return;
      let id = wordIds.get(word);
      if (id === undefined) {
        id = this.words.length;
        wordIds.set(word, id);
        this.words.push({ length: word.length, indexes: [] });
      }
      this.words[id]?.indexes.push(index);
    });
    this.offsetsById = this.words.map(() => undefined);
    let classes = 1;
    const classOf = (ch: string): number => {
      const code = ch.charCodeAt(0);
      const known = code < 128 ? this.asciiClass[code] : this.otherClass.get(code);
      if (known) return known;
      const cls = classes++;
      for (const variant of [ch, ch.toLowerCase(), ch.toUpperCase()]) {
        if (variant.length !== 1) continue;
        const c = variant.charCodeAt(0);
        if (c < 128) this.asciiClass[c] = cls;
        else this.otherClass.set(c, cls);
        this.charClass[c] = cls;
      }
      return cls;
    };
    // The trie (goto function), then breadth-first failure links folded into a dense table.
    const next: Map<number, number>[] = [new Map()];
    const ends: number[][] = [[]];
    for (const [word, id] of wordIds) insertWord(next, ends, [...word].map(classOf), id);
    if (options.digitRuns) {
      this.digitId = this.words.length;
      this.words.push({ length: 1, indexes: [] });
      this.offsetsById.push(undefined);
      for (const digit of '0123456789') insertWord(next, ends, [classOf(digit)], this.digitId);
    }
    if (classes > 255) throw new Error('too many distinct keyword characters');
    this.classes = classes;
    const delta = new Int32Array(next.length * classes);
    const outputs: (number[] | null)[] = new Array<number[] | null>(next.length).fill(null);
    const fail = new Int32Array(next.length);
    const queue: number[] = [];
    for (const [cls, child] of next[0] ?? []) {
      delta[cls] = child;
      queue.push(child);
    }
    for (let q = 0; q < queue.length; q += 1) {
      const state = queue[q] as number;
      const own = ends[state] ?? [];
      const inherited = outputs[fail[state] as number] ?? [];
      outputs[state] = own.length + inherited.length > 0 ? [...own, ...inherited] : null;
      for (let cls = 0; cls < classes; cls += 1) {
        const child = next[state]?.get(cls);
        const viaFail = delta[(fail[state] as number) * classes + cls] as number;
        if (child === undefined) {
          delta[state * classes + cls] = viaFail;
        } else {
          delta[state * classes + cls] = child;
          fail[child] = viaFail;
          queue.push(child);
        }
      }
    }
    // Rows instead of state numbers where no word ends (the scan loop does one load and one
    // comparison per character); where one does, `~(state << 1 | digitOnly)` (negative): the
    // bit marks a state whose only output is a digit, handled without reading `outputs`.
    for (let k = 0; k < delta.length; k += 1) {
      const target = delta[k] as number;
      const out = outputs[target];
      delta[k] = out
        ? ~((target << 1) | (out.length === 1 && out[0] === this.digitId ? 1 : 0))
        : target * classes;
    }
    this.outputs = outputs;
    this.delta = delta;
  }

  /** The indexes of the keywords that occur in `text`. */
  present(text: string): Set<number> {
    return new Set(this.scan(text).keys());
  }

  /**
   * Every keyword that occurs, with the offsets where it starts in increasing order
   * (multi-character keywords), or null (single characters: present, offsets not collected).
   * With a scanner built for digit runs, `digitRuns` receives every maximal run of ASCII digits
   * as start/end pairs in increasing order.
   */
  scan(text: string, digitRuns: number[] = []): Map<number, number[] | null> {
    const found = new Map<number, number[] | null>();
    if (text.length < SHORT_TEXT) {
      // One look at each character beats ~70 `includes` calls that mostly fail.
      const seen = this.seen;
      seen.fill(0);
      for (let i = 0; i < text.length; i += 1) {
        const c = text.charCodeAt(i);
        if (c < 128) seen[c] = 1;
      }
      for (const s of this.singles) {
        const present =
          s.lowerCode >= 0 && s.upperCode >= 0
            ? seen[s.lowerCode] === 1 || seen[s.upperCode] === 1
            : occurs(text, s);
        if (present) found.set(s.index, null);
      }
    } else {
      for (const s of this.singles) if (occurs(text, s)) found.set(s.index, null);
    }
    if (this.words.length === 0) return found;
    const { charClass, delta, outputs, words, classes } = this;
    // Offsets per word that occurs: a text holds few of the ~200 words, and nothing is allocated
    // or visited for the others (a short decoded text is scanned in a few microseconds).
    const { offsetsById, idsFound, digitId } = this;
    let row = 0;
    const n = text.length;
    // The digit run being read: [runStart, runEnd) (runEnd -1: none yet).
    let runStart = 0;
    let runEnd = -1;
    for (let i = 0; i < n; i += 1) {
      const c = text.charCodeAt(i);
      const cls = charClass[c] as number;
      row = delta[row + cls] as number;
      if (row >= 0) continue;
      const code = ~row;
      const state = code >> 1;
      row = state * classes;
      if ((code & 1) === 1) {
        // A digit and nothing else ends here (most digits).
        if (i !== runEnd) {
          if (runEnd >= 0) digitRuns.push(runStart, runEnd);
          runStart = i;
        }
        runEnd = i + 1;
        continue;
      }
      for (const id of outputs[state] as readonly number[]) {
        if (id === digitId) {
          if (i !== runEnd) {
            if (runEnd >= 0) digitRuns.push(runStart, runEnd);
            runStart = i;
          }
          runEnd = i + 1;
          continue;
        }
        const at = i + 1 - (words[id] as { length: number }).length;
        const list = offsetsById[id];
        if (list) list.push(at);
        else {
          offsetsById[id] = [at];
          idsFound.push(id);
        }
      }
    }
    if (runEnd >= 0) digitRuns.push(runStart, runEnd);
    for (const id of idsFound) {
      const list = offsetsById[id] as number[];
      offsetsById[id] = undefined;
      const indexes = (words[id] as { indexes: number[] }).indexes;
      for (let k = 0; k < indexes.length; k += 1)
        found.set(indexes[k] as number, k === 0 ? list : [...list]);
    }
    idsFound.length = 0;
    return found;
  }
}

/** Adds a word (its characters' classes) to the trie: its last state outputs `id`. */
function insertWord(next: Map<number, number>[], ends: number[][], classes: number[], id: number) {
  let state = 0;
  for (const cls of classes) {
    let child = next[state]?.get(cls);
    if (child === undefined) {
      child = next.length;
      next.push(new Map());
      ends.push([]);
      next[state]?.set(cls, child);
    }
    state = child;
  }
  ends[state]?.push(id);
}

/**
 * The maximal runs of at least `min` characters whose (ASCII) code is marked in `member`, as
 * start/end pairs in increasing order. Such a run holds one of every `min`-th offsets, so only
 * those are looked at, and a marked one is widened to its run: about `1/min` of the text is read
 * outside runs (base64 runs for the decoder cost a fraction of a keyword scan). Linear.
 */
export function characterRuns(text: string, member: Uint8Array, min: number): number[] {
  const out: number[] = [];
  const n = text.length;
  const step = Math.max(1, min);
  for (let k = step - 1; k < n;) {
    if (!isMember(member, text.charCodeAt(k))) {
      k += step;
      continue;
    }
    let start = k;
    while (start > 0 && isMember(member, text.charCodeAt(start - 1))) start -= 1;
    let end = k + 1;
    while (end < n && isMember(member, text.charCodeAt(end))) end += 1;
    if (end - start >= min) out.push(start, end);
    // The next run starts after `end`; one that long holds `end + step` or a later sample.
    k = end + step;
  }
  return out;
}

/** Texts shorter than this find single-character keywords by one pass over their characters. */
const SHORT_TEXT = 512;

/** Whether a single-character keyword occurs in either case. */
function occurs(text: string, s: { lower: string; upper: string }): boolean {
  return text.includes(s.lower) || (s.upper !== s.lower && text.includes(s.upper));
}

/** The code of a one-character ASCII string, else -1 (never marked as seen). */
function asciiCode(ch: string): number {
  const c = ch.length === 1 ? ch.charCodeAt(0) : -1;
  return c < 128 ? c : -1;
}

function isMember(member: Uint8Array, code: number): boolean {
  return code < 128 && member[code] === 1;
}
