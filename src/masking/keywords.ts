/**
 * Aho–Corasick over the rules' keywords: one pass over the text tells which keywords occur, so
 * the prefilter costs one scan however many rules there are (checking each keyword with
 * `includes` scans the whole text once per absent keyword). ASCII case-insensitive.
 */
export class KeywordScanner {
  private readonly goto: Map<number, number>[] = [new Map()];
  private readonly fail: number[] = [0];
  private readonly out: number[][] = [[]];

  constructor(readonly keywords: readonly string[]) {
    keywords.forEach((word, index) => {
      let state = 0;
      for (const ch of word.toLowerCase()) {
        const code = ch.charCodeAt(0);
        let next = this.goto[state]?.get(code);
        if (next === undefined) {
          next = this.goto.length;
          this.goto.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.goto[state]?.set(code, next);
        }
        state = next;
      }
      this.out[state]?.push(index);
    });
    const queue: number[] = [];
    for (const next of this.goto[0]?.values() ?? []) queue.push(next);
    while (queue.length > 0) {
      const state = queue.shift() as number;
      for (const [code, next] of this.goto[state] ?? []) {
        queue.push(next);
        let f = this.fail[state] ?? 0;
        while (f !== 0 && !this.goto[f]?.has(code)) f = this.fail[f] ?? 0;
        const target = this.goto[f]?.get(code);
        this.fail[next] = target !== undefined && target !== next ? target : 0;
        this.out[next]?.push(...(this.out[this.fail[next] ?? 0] ?? []));
      }
    }
  }

  /** The indexes of the keywords that occur in `text`. */
  present(text: string): Set<number> {
    const found = new Set<number>();
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 65 && code <= 90) code += 32;
      while (state !== 0 && !this.goto[state]?.has(code)) state = this.fail[state] ?? 0;
      state = this.goto[state]?.get(code) ?? 0;
      const hits = this.out[state];
      if (hits && hits.length > 0) for (const h of hits) found.add(h);
      if (found.size === this.keywords.length) break;
    }
    return found;
  }
}
