import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's one HTML page, its headers and its bundled assets. The page carries no inline
 * script or style (the Content-Security-Policy forbids both): everything it shows is built by
 * the bundled script from JSON, as text.
 */

/** Strict CSP: only this origin's own script, style and connections; no framing, no plugins. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every console response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const NAV = [
  ['approvals', 'Approvals'],
  ['servers', 'Servers'],
  ['audit', 'Audit'],
  ['schema', 'Schema drift'],
  ['inventory', 'Inventory'],
] as const;

/** The page shell: navigation and an empty main the script fills (asset URLs are relative). */
export function consoleHtml(): string {
  const links = NAV.map(([id, label]) => `<li><a href="#${id}">${label}</a></li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse console</title>
<link rel="stylesheet" href="assets/console.css">
<script type="module" src="assets/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">Gatehouse</span><nav aria-label="Console pages"><ul>${links}</ul></nav><span id="viewer" class="viewer"></span></header>
<main id="main" tabindex="-1"><p>Loading…</p></main>
<div id="status" class="status" role="status" aria-live="polite"></div>
</body>
</html>
`;
}

/** A plain page that says why the console cannot be shown (no session, a used link …). */
export function messageHtml(title: string, message: string): string {
  const text = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${text(title)}</title><link rel="stylesheet" href="assets/console.css"></head>
<body><main class="message"><h1>${text(title)}</h1><p>${text(message)}</p></main></body>
</html>
`;
}

/**
 * The team gateway's sign-in page: a field for the person's identity-provider access token,
 * which the bundled script sends once as `Authorization: Bearer` to `session` (the page never
 * keeps it). No inline script: the form is wired by console.js.
 */
export function signInHtml(message: string): string {
  const text = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Gatehouse console</title><link rel="stylesheet" href="assets/console.css"><script type="module" src="assets/console.js"></script></head>
<body><main class="message" id="main"><h1>Sign in</h1><p>${text(message)}</p>
<form id="signin"><label for="idp-token">Access token from your identity provider</label>
<input id="idp-token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button></form>
<div id="status" class="status" role="status" aria-live="polite"></div></main></body>
</html>
`;
}

export interface ConsoleAssets {
  'console.js': Buffer;
  'console.css': Buffer;
}

/**
 * The bundled assets (`npm run bundle` writes them to dist/console-assets/): found by walking up from
 * this module, which runs from dist/bin/ (bundled), dist/console/ (compiled) or src/ (tests).
 */
export function loadConsoleAssets(from = dirname(fileURLToPath(import.meta.url))): ConsoleAssets {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'console-assets');
    const here = join(dir, 'console-assets');
    for (const d of [here, candidate])
      if (existsSync(join(d, 'console.js')) && existsSync(join(d, 'console.css')))
        return {
          'console.js': readFileSync(join(d, 'console.js')),
          'console.css': readFileSync(join(d, 'console.css')),
        };
    if (dirname(dir) === dir)
      throw new Error(
        'the console assets (dist/console-assets/console.js, console.css) are missing: run `npm run build`',
      );
  }
}
