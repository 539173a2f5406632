// The part of `js-yaml` (installed with the linting tools; it ships no types) the packaging test uses.
declare module 'js-yaml' {
  export function loadAll(text: string): unknown[];
  export function load(text: string): unknown;
}
