export interface Planted {
  kind: string;
  start: number;
  end: number;
  negative: boolean;
}
export declare const PII_KINDS: string[];
export declare function prng(seed: number): () => number;
export declare function generateCorpus(options?: {
  seed?: number;
  bytes?: number;
  ipAddresses?: boolean;
  density?: number;
}): { text: string; planted: Planted[] };
export interface KindScore {
  kind: string;
  planted: number;
  found: number;
  fp: number;
  reported: number;
  recall: number | null;
  precision: number | null;
}
export declare function score(
  corpus: { planted: Planted[] },
  findings: { kind: string; start: number; end: number }[],
): {
  kinds: KindScore[];
  recall: number;
  precision: number;
  planted: number;
  found: number;
  reported: number;
  fp: number;
};
