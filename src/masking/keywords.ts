/**
 * Which of the rules' keywords occur in a text, case-insensitively, in one native pass: the
 * multi-character keywords as one alternation regex (longest first, resumed one character
 * after each hit so overlapping keywords are all seen; a hit also counts every keyword that is
 * a prefix of it), single characters with `indexOf`. V8 scans this far faster than a
 * character-at-a-time automaton in JS, and it costs one pass however many rules there are.
 */
export class KeywordScanner {
  private readonly multi: RegExp | null;
  private readonly byWord = new Map<string, number[]>();
  private readonly singles: { index: number; lower: string; upper: string }[] = [];

  constructor(readonly keywords: readonly string[]) {
    const words: string[] = [];
    keywords.forEach((raw, index) => {
      const word = raw.toLowerCase();
      if (word.length === 1) {
        this.singles.push({ index, lower: word, upper: word.toUpperCase() });
        return;
      }
      if (!this.byWord.has(word)) words.push(word);
      this.byWord.set(word, [...(this.byWord.get(word) ?? []), index]);
    });
    // A hit on "api_key" is also a hit on "api" (a prefix at the same place).
    for (const word of words) {
      const closure = new Set(this.byWord.get(word));
      for (const other of words) {
        if (other !== word && word.startsWith(other))
          for (const i of this.byWord.get(other) ?? []) closure.add(i);
      }
      this.byWord.set(word, [...closure]);
    }
    this.multi = words.length > 0 ? new RegExp(trieSource(words), 'gi') : null;
  }

  /** The indexes of the keywords that occur in `text`. */
  present(text: string): Set<number> {
    return new Set(this.scan(text).keys());
  }

  /**
   * Every keyword that occurs, with the offsets where it starts (multi-character keywords), or
   * null (single characters: present, offsets not collected).
   */
  scan(text: string): Map<number, number[] | null> {
    const found = new Map<number, number[] | null>();
    for (const s of this.singles) {
      if (text.includes(s.lower) || (s.upper !== s.lower && text.includes(s.upper)))
        found.set(s.index, null);
    }
    const re = this.multi;
    if (!re) return found;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      for (const i of this.byWord.get(m[0].toLowerCase()) ?? []) {
        const at = found.get(i);
        if (at) at.push(m.index);
        else if (at === undefined) found.set(i, [m.index]);
      }
      re.lastIndex = m.index + 1;
    }
    return found;
  }
}

interface TrieNode {
  end: boolean;
  next: Map<string, TrieNode>;
}

/**
 * The words as one regex shaped like their trie (`a(?:kia|sia)|gh(?:p_|o_)…`): at each position
 * V8 follows one branch per character instead of trying every word, and the optional tails
 * are greedy, so the longest word at a position wins.
 */
function trieSource(words: readonly string[]): string {
  const root: TrieNode = { end: false, next: new Map() };
  for (const w of words) {
    let node = root;
    for (const ch of w) {
      let child = node.next.get(ch);
      if (!child) {
        child = { end: false, next: new Map() };
        node.next.set(ch, child);
      }
      node = child;
    }
    node.end = true;
  }
  const escape = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const emit = (node: TrieNode): string => {
    const branches = [...node.next].map(([ch, child]) => escape(ch) + emit(child));
    if (branches.length === 0) return '';
    const body = branches.length === 1 ? (branches[0] as string) : `(?:${branches.join('|')})`;
    if (!node.end) return body;
    return branches.length === 1 && [...node.next.values()][0]?.next.size === 0 && body.length === 1
      ? `${body}?`
      : `(?:${body})?`;
  };
  return emit(root);
}
