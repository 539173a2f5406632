import { suggestKey } from '../diagnostics/suggest.js';
import { describeKind, FieldReader, isPlainTable } from '../config/field-reader.js';
import type { McpTransport } from '../config/mcp-server.js';
import type { CredentialModel, SecretRef, ServerCredentials } from './model.js';
import { CREDENTIAL_MODELS } from './model.js';

/** The Gatehouse-only table under a server (Codex ignores it). */
export const CREDENTIALS_KEY = 'gatehouse_credentials';

const KEYS = [
  'model',
  'bearer',
  'headers',
  'client_id',
  'client_secret',
  'grant',
  'scopes',
  'token_endpoint',
  'issuer',
  'audience',
  'callback_port',
];
const REF_KEYS = ['env', 'file', 'command'];
const REF_HINT =
  'write a reference, never the value: { env = "VAR" }, { file = "/path/to/secret" } or { command = ["pass", "show", "name"] }';

/** Codex keys that carry a static credential (they imply the `service` model). */
const STATIC_KEYS = [
  'bearer_token_env_var',
  'http_headers',
  'env_http_headers',
  'http_headers_helper',
] as const;

/**
 * One secret reference; a bare string is refused (it would be the secret itself, in a file
 * others may read). `at` is the path under the credentials table, for located diagnostics.
 */
export function readSecretRef(
  r: Pick<FieldReader, 'error'>,
  at: (string | number)[],
  raw: unknown,
): SecretRef | null {
  if (typeof raw === 'string') {
    r.error(at, 'a literal secret is not accepted here', REF_HINT, 'invalid_value');
    return null;
  }
  if (!isPlainTable(raw)) {
    r.error(at, `invalid type: ${describeKind(raw)}, expected a secret reference`, REF_HINT);
    return null;
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1 || !REF_KEYS.includes(keys[0] as string)) {
    const guess = keys.length === 1 ? suggestKey(keys[0] as string, REF_KEYS) : null;
    r.error(
      at,
      `a secret reference has exactly one of ${REF_KEYS.map((k) => `\`${k}\``).join(', ')}`,
      guess ? `did you mean \`${guess}\`?` : REF_HINT,
    );
    return null;
  }
  const value = raw[keys[0] as string];
  if (keys[0] === 'command') {
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      value.some((v) => typeof v !== 'string' || v === '')
    ) {
      r.error(
        [...at, 'command'],
        'expected a non-empty list of strings (the program, then its arguments; no shell)',
        'e.g. command = ["pass", "show", "github-token"]',
      );
      return null;
    }
    return { kind: 'command', argv: value as string[] };
  }
  if (typeof value !== 'string' || value === '') {
    r.error([...at, keys[0] as string], 'expected a non-empty string', REF_HINT);
    return null;
  }
  if (keys[0] === 'file' && !value.startsWith('/')) {
    r.error(
      [...at, 'file'],
      'a secret file must be an absolute path',
      'e.g. file = "/home/me/.config/gatehouse/github-token"',
    );
    return null;
  }
  return keys[0] === 'env' ? { kind: 'env', name: value } : { kind: 'file', path: value };
}

/**
 * Tokens and client secrets travel to these URLs: https only, as OAuth 2.1 requires, except on
 * this machine's loopback (a local authorization server, tests).
 */
function isSecureUrl(value: string): boolean {
  try {
    const u = new URL(value);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    return u.protocol === 'https:' || (u.protocol === 'http:' && loopback);
  } catch {
    return false;
  }
}

/**
 * `[mcp_servers.NAME.gatehouse_credentials]` → the server's declared credential model and its
 * secret references. Every inconsistency with the transport or the Codex keys is an error (the
 * server is then not loaded): a credential that would silently not be used is a lie in config.
 */
export function parseServerCredentials(
  reader: FieldReader,
  transport: McpTransport | null,
): ServerCredentials | null | undefined {
  const t = reader.subTable(CREDENTIALS_KEY);
  if (t === undefined || t === null) return t;
  const r = new FieldReader(
    t,
    `${reader.keyPrefix}.${CREDENTIALS_KEY}`,
    (path) => reader.locateField([CREDENTIALS_KEY, ...path]),
    reader.diagnostics,
  );
  const errors = () => reader.diagnostics.filter((d) => d.severity === 'error').length;
  const before = errors();
  const fields = readFields(r);
  if (fields.model) checkModelRules(r, fields as ServerCredentials, transport, reader.keyPrefix);
  return errors() > before || !fields.model ? null : (fields as ServerCredentials);
}

/** Every key of the table, each type-checked and located; `model` null when missing or wrong. */
function readFields(r: FieldReader): Omit<ServerCredentials, 'model'> & {
  model: CredentialModel | null;
} {
  for (const key of r.keys()) {
    if (!KEYS.includes(key)) {
      const guess = suggestKey(key, KEYS);
      r.error(
        [key],
        `unknown key \`${key}\` in ${CREDENTIALS_KEY}`,
        guess ? `did you mean \`${guess}\`?` : `known keys: ${KEYS.join(', ')}`,
        'unknown_key',
      );
    }
  }
  const model = r.oneOf('model', CREDENTIAL_MODELS);
  if (model === undefined)
    r.error(
      [],
      `missing \`model\` in ${CREDENTIALS_KEY}`,
      `set model = ${CREDENTIAL_MODELS.map((m) => `"${m}"`).join(' | ')}`,
      'missing_field',
    );
  const bearer = r.has('bearer') ? readSecretRef(r, ['bearer'], r.raw('bearer')) : null;
  const headers: Record<string, SecretRef> = {};
  for (const [name, raw] of Object.entries(r.subTable('headers') ?? {})) {
    const ref = readSecretRef(r, ['headers', name], raw);
    if (ref) headers[name] = ref;
    if (name.toLowerCase() === 'authorization' && bearer)
      r.error(['headers', name], 'Authorization is set twice', 'keep `bearer` or this header');
  }
  const clientSecret = r.has('client_secret')
    ? readSecretRef(r, ['client_secret'], r.raw('client_secret'))
    : null;
  const url = (key: string) => {
    const v = r.string(key);
    if (typeof v === 'string' && !isSecureUrl(v))
      r.error(
        [key],
        `${key} is not an absolute https URL (http only on 127.0.0.1/localhost)`,
        'tokens and client secrets are sent there: e.g. https://idp.example.com',
      );
    return v ?? null;
  };
  const callbackPort = r.number('callback_port');
  if (
    typeof callbackPort === 'number' &&
    !(Number.isInteger(callbackPort) && callbackPort >= 0 && callbackPort <= 65535)
  )
    r.error(['callback_port'], 'expected a port number (0-65535)');
  return {
    model: model ?? null,
    bearer,
    headers,
    clientId: r.string('client_id') ?? null,
    clientSecret,
    grant: r.oneOf('grant', ['client_credentials'] as const) ?? null,
    scopes: r.stringArray('scopes') ?? null,
    tokenEndpoint: url('token_endpoint'),
    issuer: url('issuer'),
    audience: r.string('audience') ?? null,
    callbackPort: callbackPort ?? null,
  };
}

/** The Codex keys of an HTTP server that give everyone the same credential. */
function codexStaticKeys(transport: McpTransport | null): string[] {
  if (transport?.type !== 'streamable_http') return [];
  const values: Record<(typeof STATIC_KEYS)[number], unknown> = {
    bearer_token_env_var: transport.bearerTokenEnvVar,
    http_headers: transport.httpHeaders,
    env_http_headers: transport.envHttpHeaders,
    http_headers_helper: transport.httpHeadersHelper,
  };
  return STATIC_KEYS.filter((k) => values[k] !== null && values[k] !== undefined);
}

/** What each model needs and refuses, against the transport and the server's Codex keys. */
function checkModelRules(
  r: FieldReader,
  c: ServerCredentials,
  transport: McpTransport | null,
  serverKey: string,
): void {
  const m = c.model;
  const needs = (ok: boolean, key: string, why: string) => {
    if (!ok) r.error([], `model = "${m}" needs \`${key}\``, why, 'missing_field');
  };
  const refuse = (present: boolean, key: string, why: string) => {
    if (present) r.error([key], `\`${key}\` does not apply to model = "${m}"`, why);
  };
  const hasHeaders = Object.keys(c.headers).length > 0;
  const hasEndpoint = c.tokenEndpoint !== null || c.issuer !== null;
  const codexStatic = codexStaticKeys(transport);
  if (m !== 'none' && m !== 'service' && transport?.type === 'stdio')
    r.error(
      ['model'],
      `model = "${m}" needs a streamable HTTP server (url)`,
      'a stdio server gets its credentials from its environment: use model = "service" or "none"',
    );
  if (m === 'service') {
    const grantOk = c.grant === 'client_credentials';
    needs(
      transport?.type === 'stdio' || !!c.bearer || hasHeaders || grantOk || codexStatic.length > 0,
      'bearer',
      'one credential for every caller: bearer = { env = "VAR" }, headers, or grant = "client_credentials" with client_id',
    );
    if (grantOk) {
      needs(c.clientId !== null, 'client_id', 'the client credentials grant needs it');
      needs(hasEndpoint, 'token_endpoint', 'or issuer (its metadata names the token endpoint)');
    }
  }
  if (m === 'user' || m === 'exchange') {
    for (const k of codexStatic)
      r.error(
        [],
        `model = "${m}" gives each caller their own token, but ${serverKey}.${k} sets a credential for everyone`,
        `remove ${k}, or use model = "service"`,
      );
    needs(
      c.clientId !== null,
      'client_id',
      m === 'user'
        ? "Gatehouse's pre-registered client id at the upstream's authorization server"
        : "Gatehouse's client id at the identity provider",
    );
    refuse(!!c.bearer, 'bearer', 'the token comes from the authorization server');
    refuse(hasHeaders, 'headers', 'the token comes from the authorization server');
    refuse(!!c.grant, 'grant', 'grant is for model = "service"');
  }
  if (m === 'exchange') {
    needs(
      !!c.clientSecret,
      'client_secret',
      'the token exchange authenticates Gatehouse at the IdP',
    );
    needs(hasEndpoint, 'token_endpoint', 'or issuer: where the exchange is made');
  }
  if (m === 'none') {
    for (const k of codexStatic)
      r.error([], `model = "none" but ${serverKey}.${k} sets a credential`, `remove ${k}`);
    for (const [key, present] of [
      ['bearer', !!c.bearer],
      ['headers', hasHeaders],
      ['client_id', c.clientId !== null],
      ['client_secret', c.clientSecret !== null],
    ] as const)
      refuse(present, key, 'model = "none" sends no credential');
  }
}
