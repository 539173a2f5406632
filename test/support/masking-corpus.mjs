// A labelled corpus for masking accuracy and speed: documents shaped like tool results (env and
// YAML config, JSON records, logs, stack traces, URLs, code, prose) with secrets and personal
// data planted at known offsets, and hard negatives planted beside them (UUIDs, git SHAs,
// hashes, base64 blobs, Luhn-invalid order numbers, versions, timestamps, placeholders, the
// AWS documentation key). Deterministic for a seed. Used by test/masking-accuracy.test.ts and
// bench/masking.mjs.
//
// Provider token formats are sampled from our own rule patterns (format coverage, not an
// independent truth); what the corpus measures independently is context handling, boundaries,
// gates and validators, and false positives on look-alikes.
import RandExp from 'randexp';
import { builtInRules, detectFindings } from '../../dist/masking/detect.js';
import { stripLookarounds } from './regex-sample.mjs';

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
const B64 = `${ALNUM}+/`;

function pick(rnd, list) {
  return list[Math.floor(rnd() * list.length)];
}
function chars(rnd, alphabet, n) {
  let s = '';
  for (let i = 0; i < n; i += 1) s += alphabet[Math.floor(rnd() * alphabet.length)];
  return s;
}
function int(rnd, lo, hi) {
  return lo + Math.floor(rnd() * (hi - lo + 1));
}

/** Kinds whose values are personal data (the rest are secrets). */
export const PII_KINDS = ['email', 'card', 'iban', 'ssn', 'phone', 'ip_address'];

// ---- personal data ----------------------------------------------------------------------------

function luhnComplete(prefix, length, rnd) {
  let digits = prefix + chars(rnd, '0123456789', length - prefix.length - 1);
  for (let d = 0; d < 10; d += 1) {
    const candidate = digits + d;
    let sum = 0;
    let dbl = false;
    for (let i = candidate.length - 1; i >= 0; i -= 1) {
      let x = candidate.charCodeAt(i) - 48;
      if (dbl) {
        x *= 2;
        if (x > 9) x -= 9;
      }
      sum += x;
      dbl = !dbl;
    }
    if (sum % 10 === 0) return candidate;
  }
  return digits;
}

function card(rnd) {
  const [prefix, len] = pick(rnd, [
    ['4', 16],
    ['51', 16],
    ['55', 16],
    ['2221', 16],
    ['34', 15],
    ['37', 15],
    ['6011', 16],
  ]);
  const n = luhnComplete(prefix, len, rnd);
  const sep = pick(rnd, ['', ' ', '-', len === 16 ? '.' : ' ']);
  if (sep === '') return n;
  return len === 15
    ? [n.slice(0, 4), n.slice(4, 10), n.slice(10)].join(sep)
    : n.match(/.{4}/g).join(sep);
}

function mod97(numeric) {
  let r = 0;
  for (const ch of numeric) r = (r * 10 + (ch.charCodeAt(0) - 48)) % 97;
  return r;
}

function iban(rnd) {
  const [cc, bban] = pick(rnd, [
    ['DE', () => chars(rnd, '0123456789', 18)],
    ['GB', () => chars(rnd, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + chars(rnd, '0123456789', 14)],
    ['FR', () => chars(rnd, '0123456789', 23)],
    ['NL', () => chars(rnd, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4) + chars(rnd, '0123456789', 10)],
    ['ES', () => chars(rnd, '0123456789', 20)],
  ]);
  const body = bban();
  const numeric = [...`${body}${cc}00`]
    .map((c) => (c >= 'A' ? String(c.charCodeAt(0) - 55) : c))
    .join('');
  const check = String(98 - mod97(numeric)).padStart(2, '0');
  const raw = `${cc}${check}${body}`;
  const out = rnd() < 0.5 ? raw : raw.match(/.{1,4}/g).join(' ');
  return rnd() < 0.2 ? out.toLowerCase() : out; // as typed into a form
}

function ssn(rnd) {
  let area;
  do area = int(rnd, 1, 899);
  while (area === 666);
  const sep = pick(rnd, ['-', '-', ' ', '']); // spaces or none: the contexts all say SSN
  return `${String(area).padStart(3, '0')}${sep}${String(int(rnd, 1, 99)).padStart(2, '0')}${sep}${String(int(rnd, 1, 9999)).padStart(4, '0')}`;
}

function phone(rnd) {
  return pick(rnd, [
    () => `+44 20 ${int(rnd, 7000, 8999)} ${int(rnd, 1000, 9999)}`,
    () => `+49 30 ${int(rnd, 10000000, 99999999)}`,
    () => `+33 1 ${int(rnd, 10, 99)} ${int(rnd, 10, 99)} ${int(rnd, 10, 99)} ${int(rnd, 10, 99)}`,
    () => `+81 3-${int(rnd, 1000, 9999)}-${int(rnd, 1000, 9999)}`,
    () => `+1 ${int(rnd, 201, 989)} ${int(rnd, 200, 999)} ${int(rnd, 1000, 9999)}`,
    () => `(${int(rnd, 201, 989)}) ${int(rnd, 200, 999)}-${int(rnd, 1000, 9999)}`,
    () => `${int(rnd, 201, 989)}-${int(rnd, 200, 999)}-${int(rnd, 1000, 9999)}`,
    () => `${int(rnd, 201, 989)}.${int(rnd, 200, 999)}.${int(rnd, 1000, 9999)}`,
    // National formats with a trunk 0 (the contexts all carry a phone word).
    () => `020 ${int(rnd, 7000, 8999)} ${int(rnd, 1000, 9999)}`,
    () => `030 ${int(rnd, 10000000, 99999999)}`,
    () => `06 ${int(rnd, 10, 99)} ${int(rnd, 10, 99)} ${int(rnd, 10, 99)} ${int(rnd, 10, 99)}`,
  ])();
}

function email(rnd) {
  const user = pick(rnd, [
    'jane.doe',
    'j.smith',
    'support+ticket',
    'ana_maria',
    'dev-ops',
    'k.tanaka',
    'josé.garcía',
    'zoë.müller',
  ]);
  const host = pick(rnd, [
    'example.com',
    'mail.acme.co.uk',
    'corp.example.org',
    'gmail.com',
    'shop.io',
  ]);
  return `${user}${int(rnd, 1, 999)}@${host}`;
}

function ipv6(rnd) {
  const groups = [
    `2${chars(rnd, '0123456789abcdef', 3)}`,
    ...Array.from({ length: 7 }, () => chars(rnd, HEX, int(rnd, 1, 4))),
  ];
  return rnd() < 0.5 ? groups.join(':') : `${groups.slice(0, 3).join(':')}::${groups.at(-1)}`;
}

function ipv4(rnd) {
  return `${pick(rnd, [23, 52, 81, 104, 142, 185, 203])}.${int(rnd, 0, 255)}.${int(rnd, 0, 255)}.${int(rnd, 1, 254)}`;
}

// ---- secrets ------------------------------------------------------------------------------------

const SPECIAL = {
  aws_secret_key: (rnd) => ({ value: chars(rnd, B64, 40), name: 'aws_secret_access_key' }),
  url_password: (rnd) => ({
    value: `${chars(rnd, ALNUM, 6)}!${chars(rnd, ALNUM, 8)}`,
    url: true,
  }),
  auth_header: (rnd) => ({
    value: chars(rnd, `${ALNUM}-._~`, 48),
    header: 'Authorization: Bearer ',
  }),
  api_key: (rnd) => ({ value: chars(rnd, ALNUM, 32), header: 'X-API-Key: ' }),
  generic_secret: (rnd) => {
    const r = rnd();
    if (r < 0.3) {
      // Low-entropy passwords where the key says what they are.
      const value =
        pick(rnd, ['summer', 'hunter2', 'letmein99', 'Welcome1', 'qwerty', 'dragon']) +
        int(rnd, 1, 99);
      const block = pick(rnd, [
        `DB_PASSWORD=${value}`,
        `{"user": "app", "password": "${value}"}`,
        `  password: ${value}`,
        `db.example.com:5432:orders:app:${value}`,
      ]);
      return { value, block };
    }
    return genericHighEntropy(rnd);
  },
};

function genericHighEntropy(rnd) {
  return {
    value: `${chars(rnd, ALNUM, 5)}${pick(rnd, ['#', '!', '%', '^'])}${chars(rnd, ALNUM, 9)}`,
    name: pick(rnd, [
      'db_password',
      'SMTP_PASSWORD',
      'client_secret',
      'redis_pass',
      'signing_secret',
    ]),
  };
}

const SPECIAL_REST = {
  jwt: (rnd) => ({
    value: `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ sub: chars(rnd, HEX, 8), iat: int(rnd, 1.6e9, 1.8e9) })).toString('base64url')}.${chars(rnd, `${ALNUM}-_`, 43)}`,
    name: 'session_jwt',
  }),
  gcp_service_account: (rnd) => {
    const value = chars(rnd, HEX, 40);
    const text = JSON.stringify(
      {
        type: 'service_account',
        project_id: `acme-prod-${int(rnd, 100, 999)}`,
        private_key_id: value,
      },
      null,
      pick(rnd, [0, 2]),
    );
    return { value, block: text };
  },
  basic_auth: (rnd) => {
    const value = Buffer.from(
      `${pick(rnd, ['ann', 'ci-bot', 'deploy'])}:${chars(rnd, ALNUM, int(rnd, 8, 20))}`,
    ).toString('base64');
    const block = pick(rnd, [
      `{"auths": {"registry.example.com": {"auth": "${value}"}}}`,
      `//npm.example.com/:_auth=${value}`,
    ]);
    return { value, block };
  },
  session_cookie: (rnd) => {
    const value = chars(rnd, `${ALNUM}-_`, int(rnd, 24, 48));
    const block = pick(rnd, [
      `Set-Cookie: sid=${value}; Path=/; HttpOnly; Secure`,
      `Cookie: theme=dark; session=${value}`,
      `{"set-cookie": ["session_id=${value}; Max-Age=3600"]}`,
    ]);
    return { value, block };
  },
  google_oauth_token: (rnd) => ({
    value: `ya29.${chars(rnd, `${ALNUM}-_`, int(rnd, 80, 200))}`,
    name: 'access_token',
  }),
  private_key: (rnd) => {
    if (rnd() < 0.25) {
      // kubeconfig: the key PEM, base64-encoded.
      const pem = `-----BEGIN RSA PRIVATE KEY-----\nMII${chars(rnd, B64, 200)}\n-----END RSA PRIVATE KEY-----\n`;
      const value = Buffer.from(pem).toString('base64');
      return { value, block: `users:\n- name: admin\n  user:\n    client-key-data: ${value}` };
    }
    if (rnd() < 0.2) {
      const value = [chars(rnd, B64, 64), chars(rnd, B64, 64), chars(rnd, B64, 20)].join('\n');
      const block = `PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 1\n${chars(rnd, B64, 64)}\nPrivate-Lines: 3\n${value}\nPrivate-MAC: ${chars(rnd, HEX, 64)}`;
      return { value, block };
    }
    const body = Array.from({ length: 6 }, () => chars(rnd, B64, 64)).join('\n');
    const label = pick(rnd, [
      'RSA PRIVATE KEY',
      'PRIVATE KEY',
      'EC PRIVATE KEY',
      'OPENSSH PRIVATE KEY',
    ]);
    const value = `-----BEGIN ${label}-----\nMII${body}\n-----END ${label}-----`;
    return { value, block: value };
  },
};
Object.assign(SPECIAL, SPECIAL_REST);

/** Samples a value every rule of `kind` accepts (rule pattern, lookarounds dropped, gates passed). */
function sampler(rules) {
  const gens = rules.map((rule) => {
    const source = stripLookarounds(rule.pattern.source);
    const re = new RandExp(new RegExp(source, rule.pattern.flags.replace('g', '')));
    re.max = 6;
    return { rule, re };
  });
  return (rnd) => {
    const { rule, re } = pick(rnd, gens);
    re.randInt = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
    for (let i = 0; i < 40; i += 1) {
      let full = re.gen();
      if (rule.back) {
        const alphabet = [...ALNUM, '.', '_', '-'].filter((ch) => rule.back.chars.test(ch));
        full =
          chars(
            rnd,
            alphabet,
            int(rnd, Math.max(1, rule.back.min), Math.min(rule.back.max, 12 + rule.back.min)),
          ) + full;
      }
      const found = detectFindings(` ${full} ${rule.kind.replace(/_/g, ' ')} `, { rules: [rule] });
      if (found.length === 1 && !/["\\]/.test(full)) {
        const f = found[0];
        const text = ` ${full} `;
        return { value: full, secret: text.slice(f.start, f.end) };
      }
    }
    return null;
  };
}

/** A value hidden by an invisible character, an escape, percent-encoding or base64. */
function evade(rnd, value) {
  const at = int(rnd, 1, value.length - 2);
  const ch = value[at];
  return pick(rnd, [
    () => `${value.slice(0, at)}\u200b${value.slice(at)}`,
    () =>
      `${value.slice(0, at)}\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}${value.slice(at + 1)}`,
    () =>
      `${value.slice(0, at)}%${ch.charCodeAt(0).toString(16).toUpperCase()}${value.slice(at + 1)}`,
    () => Buffer.from(value).toString('base64'),
  ])();
}

// ---- contexts -----------------------------------------------------------------------------------

/** Wraps a value in one of the shapes tool results take; `at` is where the value starts. */
function inContext(rnd, kind, value, name) {
  const key = name ?? kind.toUpperCase();
  const lower = key.toLowerCase();
  const forms = [
    () => `${key}=${value}`,
    () => `export ${key}="${value}"`,
    () => `  ${lower}: ${value}`,
    () => `{"${lower}": ${JSON.stringify(value)}, "region": "eu-west-1"}`,
    () =>
      `2026-11-${int(rnd, 10, 28)}T0${int(rnd, 0, 9)}:12:44Z INFO worker-3 loaded ${lower} ${value} from vault`,
    () =>
      `Error: request failed (${lower}=${value})\n    at Client.send (/srv/app/node_modules/sdk/index.js:${int(rnd, 10, 900)}:17)`,
    () => `const client = new Client({ ${lower.replace(/[^a-z]/g, '')}: '${value}' });`,
    () => `Please rotate the ${lower.replace(/_/g, ' ')} ${value} before Friday.`,
  ];
  const text = pick(rnd, forms)();
  return { text, start: text.indexOf(value) };
}

function piiContext(rnd, kind, value) {
  const forms = {
    email: [
      () => `From: Jane Doe <${value}>`,
      () => `{"customer": {"email": "${value}", "tier": "gold"}}`,
      () => `ticket #${int(rnd, 1000, 99999)} opened by ${value} at 09:41`,
    ],
    card: [
      () => `payment accepted card=${value} amount=${int(rnd, 1, 999)}.00 EUR`,
      () => `{"card_number": "${value}", "exp": "0${int(rnd, 1, 9)}/2${int(rnd, 7, 9)}"}`,
      () => `Customer read their card number ${value} to the agent.`,
    ],
    iban: [
      () => `Refund to IBAN ${value} approved`,
      () => `  iban: ${value}`,
      () => `{"billing": {"iban": "${value}"}}`,
    ],
    ssn: [
      () => `SSN: ${value}`,
      () => `{"ssn": "${value}", "state": "CA"}`,
      () => `applicant ssn ${value} verified`,
    ],
    phone: [
      () => `call back on ${value} after 5pm`,
      () => `{"phone": "${value}"}`,
      () => `Tel: ${value}`,
    ],
    ip_address: [
      () => `client ${value} connected`,
      () => `{"remote_addr": "${value}", "status": 200}`,
      () => `${value} - - [21/Nov/2026:09:00:01 +0000] "GET / HTTP/1.1" 200`,
    ],
  };
  const text = pick(rnd, forms[kind])();
  return { text, start: text.indexOf(value) };
}

// ---- hard negatives and filler ------------------------------------------------------------------

function luhnInvalid(rnd) {
  const valid = luhnComplete('4', 16, rnd);
  const last = (Number(valid.at(-1)) + int(rnd, 1, 9)) % 10;
  return valid.slice(0, -1) + last;
}

const NEGATIVES = [
  (rnd) =>
    `request_id=${chars(rnd, HEX, 8)}-${chars(rnd, HEX, 4)}-4${chars(rnd, HEX, 3)}-a${chars(rnd, HEX, 3)}-${chars(rnd, HEX, 12)}`,
  (rnd) => `commit ${chars(rnd, HEX, 40)}`,
  (rnd) => `sha256:${chars(rnd, HEX, 64)}`,
  (rnd) => `"integrity": "sha512-${chars(rnd, B64, 86)}=="`,
  (rnd) => `data:image/png;base64,${chars(rnd, B64, 120)}`,
  (rnd) => `order ${luhnInvalid(rnd)} shipped`,
  (rnd) => `version ${int(rnd, 0, 20)}.${int(rnd, 0, 40)}.${int(rnd, 0, 200)}`,
  (rnd) => `ts=${int(rnd, 1700000000000, 1799999999999)}`,
  (rnd) =>
    `2026-${String(int(rnd, 1, 12)).padStart(2, '0')}-${String(int(rnd, 1, 28)).padStart(2, '0')} 10:${int(rnd, 10, 59)}:00`,
  () => 'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  () => 'api_key = "${API_KEY}"',
  () => 'password: <your-password-here>',
  () => 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
  (rnd) => `price ${int(rnd, 1, 9999)}.${int(rnd, 10, 99)} USD, qty ${int(rnd, 1, 50)}`,
  (rnd) => `ssn 000-${int(rnd, 10, 99)}-${int(rnd, 1000, 9999)} is not a valid number`,
  (rnd) =>
    `IBAN GB00 WEST ${int(rnd, 1000, 9999)} ${int(rnd, 1000, 9999)} ${int(rnd, 1000, 9999)} 32`,
  (rnd) => `listening on 127.0.0.1:${int(rnd, 1024, 65535)} (pid ${int(rnd, 100, 99999)})`,
  (rnd) =>
    `bind [::1]:${int(rnd, 1024, 65535)} and [fe80::${chars(rnd, HEX, 4)}:${chars(rnd, HEX, 4)}]`,
  (rnd) =>
    `mac ${Array.from({ length: 6 }, () => chars(rnd, HEX, 2)).join(':')} at 10:${int(rnd, 10, 59)}:${int(rnd, 10, 59)}`,
  () => `std::vector<int> v; ns::Type::method(); a::b`,
  (rnd) => `token_count=${int(rnd, 100, 99999)} max_tokens=${int(rnd, 1000, 8000)}`,
  (rnd) => `secret_name = "prod/${chars(rnd, 'abcdefghij', 6)}/db"`,
  (rnd) => `"password_min_length": ${int(rnd, 8, 16)}`,
  // Over-masking seen in the field (issue 15 item 12): paths, tokenizers, token counts, types.
  (rnd) => `PWD=/home/${pick(rnd, ['ann', 'ci', 'deploy'])}/projects/app-${int(rnd, 1, 99)}`,
  (rnd) => `{"pwd": "/srv/app/releases/${int(rnd, 100, 999)}", "shell": "/bin/bash"}`,
  () => '{"tokenizer": "GPT2TokenizerFast", "tokenizer_class": "LlamaTokenizerFast"}',
  (rnd) =>
    `{"max_tokens": ${int(rnd, 256, 8192)}, "token_count": ${int(rnd, 1000, 999999)}, "total_tokens": ${int(rnd, 1000, 99999)}}`,
  (rnd) => `usage: prompt_tokens=${int(rnd, 10, 9999)} completion_tokens=${int(rnd, 10, 9999)}`,
  () => 'password: required',
  () => '  password: string;',
  () => '{"error": {"field": "password", "message": "must not be empty"}}',
  () => 'password = args.password',
  (rnd) => `SSN ${int(rnd, 900, 999)}-${int(rnd, 10, 99)}-${int(rnd, 1000, 9999)} is not issued`,
];

const FILLER = [
  'GET /api/v1/items?page=2 200 14ms',
  'INFO scheduler: 12 jobs queued, 3 running',
  'The migration completed without errors; no rows were rewritten.',
  '  timeout: 30s',
  '{"status": "ok", "items": [], "next": null}',
  'WARN cache miss ratio above 0.4 for 5 minutes',
  'function retry(fn, attempts = 3) { return fn().catch(() => retry(fn, attempts - 1)); }',
  'Deploy finished for service checkout in region eu-west-1.',
  '| id | name | status |',
  'DEBUG tls: handshake complete, cipher TLS_AES_128_GCM_SHA256',
  // Benign lines full of the words prefilters key on, as real logs and docs are.
  'INFO auth: token refreshed for session 42 (expires in 3600s)',
  'The api key rotation job finished; 3 keys were rotated and 1 secret was revoked.',
  '  password_policy: { min_length: 12, require_symbol: true }',
  'secret manager: synced 14 secrets from the vault at 09:00',
  'if (!token) throw new Error("missing bearer token: set GITHUB_TOKEN");',
  'WARN basic auth is deprecated for /admin; use the private key flow instead',
  'contact support via the help center; tel and email are in the footer',
  'sk-ant and sk-proj prefixes identify provider keys in the docs',
];

/**
 * Generates about `bytes` of text with planted positives and negatives. `density` is the share of
 * filler blocks (3–12 lines) followed by a planted value: 1 (the default) for accuracy statistics,
 * about 0.05 for tool-result-like throughput (one value per ~7 KB).
 * @param {{ seed?: number, bytes?: number, ipAddresses?: boolean, density?: number }} options
 * @returns {{ text: string, planted: { kind: string, start: number, end: number, negative: boolean }[] }}
 */
export function generateCorpus({
  seed = 1,
  bytes = 1 << 20,
  ipAddresses = true,
  density = 1,
} = {}) {
  const rnd = prng(seed);
  const rules = builtInRules({ ipAddresses: true });
  const byKind = new Map();
  for (const rule of rules) {
    if (PII_KINDS.includes(rule.kind) || SPECIAL[rule.kind]) continue;
    byKind.set(rule.kind, [...(byKind.get(rule.kind) ?? []), rule]);
  }
  const samplers = new Map([...byKind].map(([kind, list]) => [kind, sampler(list)]));
  const secretKinds = [...samplers.keys(), ...Object.keys(SPECIAL)];
  const piiKinds = PII_KINDS.filter((k) => ipAddresses || k !== 'ip_address');
  const parts = [];
  const planted = [];
  let length = 0;
  const push = (text) => {
    parts.push(text, '\n');
    length += text.length + 1;
  };
  while (length < bytes) {
    for (let i = int(rnd, 3, 12); i > 0; i -= 1) push(pick(rnd, FILLER));
    if (density < 1 && rnd() >= density) continue;
    const r = rnd();
    if (r < 0.15) {
      const text = pick(rnd, NEGATIVES)(rnd);
      planted.push({ kind: 'negative', start: length, end: length + text.length, negative: true });
      push(text);
    } else if (r < 0.6) {
      const kind = pick(rnd, secretKinds);
      let value;
      let secret;
      let name;
      let shaped;
      if (SPECIAL[kind]) {
        const s = SPECIAL[kind](rnd);
        value = s.value;
        secret = s.value;
        name = s.name;
        if (s.url) {
          const url = `postgres://app_user:${value}@db-${int(rnd, 1, 9)}.internal:5432/orders`;
          shaped = {
            text: `DATABASE_URL=${url}`,
            start: `DATABASE_URL=postgres://app_user:`.length,
          };
        } else if (s.header) {
          const text = `curl -H "${s.header}${value}" https://api.example.com/v2/jobs`;
          shaped = { text, start: text.indexOf(value) };
        } else if (s.block) {
          shaped = { text: s.block, start: s.block.indexOf(value) };
        }
      } else {
        const s = samplers.get(kind)(rnd);
        if (!s) continue;
        value = s.value;
        secret = s.secret;
        if (secret === value && rnd() < 0.1) {
          // Cheap evasions (issue 15 item 13): the planted span is the encoded form.
          value = evade(rnd, value);
          secret = value;
          const key = `${kind.toUpperCase()}=`;
          shaped = { text: `${key}${value}`, start: key.length };
        }
      }
      shaped ??= inContext(rnd, kind, value, name);
      const start = length + shaped.start + value.indexOf(secret);
      planted.push({ kind, start, end: start + secret.length, negative: false });
      push(shaped.text);
    } else {
      const kind = pick(rnd, piiKinds);
      const ip = (r) => (r() < 0.7 ? ipv4(r) : ipv6(r));
      const value = { email, card, iban, ssn, phone, ip_address: ip }[kind](rnd);
      const shaped = piiContext(rnd, kind, value);
      planted.push({
        kind,
        start: length + shaped.start,
        end: length + shaped.start + value.length,
        negative: false,
      });
      push(shaped.text);
    }
  }
  return { text: parts.join(''), planted };
}

/**
 * Scores findings against the planted labels. A planted value is found when a finding
 * overlaps it (whatever kind the finding says: masked is masked). A finding is a false
 * positive when it overlaps no planted value (including when it overlaps a planted negative).
 * @param {{ planted: { kind: string, start: number, end: number, negative: boolean }[] }} corpus
 * @param {{ kind: string, start: number, end: number }[]} findings sorted by start
 */
export function score(corpus, findings) {
  const perKind = new Map();
  const row = (k) => {
    if (!perKind.has(k)) perKind.set(k, { planted: 0, found: 0, fp: 0, reported: 0 });
    return perKind.get(k);
  };
  const positives = corpus.planted.filter((p) => !p.negative).sort((a, b) => a.start - b.start);
  let j = 0;
  const hit = new Set();
  for (const f of findings) {
    while (j < positives.length && positives[j].end <= f.start) j += 1;
    let matched = false;
    for (let k = j; k < positives.length && positives[k].start < f.end; k += 1) {
      hit.add(k);
      matched = true;
    }
    const r = row(f.kind);
    r.reported += 1;
    if (!matched) r.fp += 1;
  }
  positives.forEach((p, i) => {
    const r = row(p.kind);
    r.planted += 1;
    if (hit.has(i)) r.found += 1;
  });
  const kinds = [...perKind.entries()].map(([kind, r]) => ({
    kind,
    ...r,
    recall: r.planted ? r.found / r.planted : null,
    precision: r.reported ? (r.reported - r.fp) / r.reported : null,
  }));
  const sum = (key) => kinds.reduce((a, k) => a + k[key], 0);
  const totals = {
    planted: sum('planted'),
    found: sum('found'),
    reported: sum('reported'),
    fp: sum('fp'),
  };
  return {
    kinds: kinds.sort((a, b) => a.kind.localeCompare(b.kind)),
    recall: totals.found / totals.planted,
    precision: (totals.reported - totals.fp) / totals.reported,
    ...totals,
  };
}
