/** Talking to the console's server: JSON in and out; every change carries the CSRF token. */

let csrf = '';
let viewer: Viewer | null = null;

/** Who is signed in (after startSession). */
export const signedIn = () => viewer;

export interface Viewer {
  name: string;
  signs: boolean;
  /** One-time links may be issued (locally; never under the team gateway). */
  links: boolean;
  /** The pages this console serves (null: all of them). */
  pages: string[] | null;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function parse(res: Response): Promise<unknown> {
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(body.error ?? `the console answered ${res.status}`, res.status);
  return body;
}

/** Reads the session (its CSRF token and who is signed in). */
export async function startSession(): Promise<Viewer> {
  const s = (await parse(await fetch('api/session', { credentials: 'same-origin' }))) as {
    csrf: string;
    viewer: Omit<Viewer, 'links' | 'pages'>;
    links: boolean;
    pages: string[] | null;
  };
  csrf = s.csrf;
  viewer = { ...s.viewer, links: s.links, pages: s.pages };
  return viewer;
}

export async function get<T>(path: string): Promise<T> {
  return (await parse(await fetch(path, { credentials: 'same-origin' }))) as T;
}

export async function post<T>(path: string, body: Record<string, unknown>): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  });
  return (await parse(res)) as T;
}

/** A command's answer: its JSON, exit code and message (see src/console/data.ts). */
export interface Answer<T = unknown> {
  code: number;
  data: T;
  message: string | null;
}
