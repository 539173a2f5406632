/**
 * A value together with the rule that normalises it and where that rule came from — Codex's
 * `Constrained<T>`. Setting a value runs normalise → validate → store, so a constrained value
 * can never hold something its rule forbids, and a rejected set keeps the old value.
 */
export class Constrained<T, S = unknown> {
  private current: T;

  private constructor(
    value: T,
    private readonly normalize: (value: T) => T,
    private readonly validate: (value: T) => string | null,
    /** What imposed the rule; null for "anything goes". */
    readonly source: S | null,
  ) {
    this.current = value;
  }

  /** No rule: every value is accepted as is. */
  static allowAny<T, S = unknown>(value: T): Constrained<T, S> {
    return new Constrained<T, S>(
      value,
      (v) => v,
      () => null,
      null,
    );
  }

  /** Accepts anything and rewrites it at once (Codex: rewrite, don't refuse). */
  static normalized<T, S>(value: T, normalize: (value: T) => T, source: S): Constrained<T, S> {
    return new Constrained<T, S>(normalize(value), normalize, () => null, source);
  }

  /** Validates without rewriting; throws if the initial value is invalid. */
  static validated<T, S>(
    value: T,
    validate: (value: T) => string | null,
    source: S,
  ): Constrained<T, S> {
    const problem = validate(value);
    if (problem) throw new Error(problem);
    return new Constrained<T, S>(value, (v) => v, validate, source);
  }

  get value(): T {
    return this.current;
  }

  /** Dry run of `set`: the problem, or null if the value would be accepted. */
  canSet(value: T): string | null {
    return this.validate(this.normalize(value));
  }

  set(value: T): string | null {
    const next = this.normalize(value);
    const problem = this.validate(next);
    if (problem === null) this.current = next;
    return problem;
  }
}
