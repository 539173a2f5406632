import fc from 'fast-check';
import { isIPv6 } from 'node:net';
import type RandExpClass from 'randexp';
import { describe, expect, test } from 'vitest';
import { builtInRules, detectFindings, maskSecrets } from './detect.js';
import { PII_RULES, SECRET_RULES, type DetectorRule } from './rules.js';
import { ibanLength, ibanValid, luhnValid, ssnValid } from './validators.js';
import { stripLookarounds } from '../../test/support/regex-sample.mjs';

// Test values are assembled at run time so this file holds no literal secrets.
const rand = (alphabet: string, n: number, seed = 7) =>
  Array.from(
    { length: n },
    (_, i) => alphabet[(i * 31 + seed * 17 + ((i * i) % 13)) % alphabet.length],
  ).join('');
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdef';

/** Every offset where the rule's own pattern matches (a sticky match tried at each). */
function matchOffsets(rule: DetectorRule, text: string): number[] {
  const sticky = new RegExp(rule.pattern.source, rule.pattern.flags.replace('g', '') + 'y');
  const out: number[] = [];
  for (let at = 0; at < text.length; at += 1) {
    sticky.lastIndex = at;
    if (sticky.test(text)) out.push(at);
  }
  return out;
}

describe('detectFindings: secrets in realistic contexts', () => {
  test.each([
    ['github pat in an env file', `GITHUB_TOKEN=ghp_${rand(ALNUM, 36)}`, 'github_token'],
    [
      'aws key id in a log line',
      `2026-11-21 INFO using AKIA${rand('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)} for s3`,
      'aws_access_key',
    ],
    ['stripe key in JSON', `{"stripe": "sk_live_${rand(ALNUM, 24)}"}`, 'stripe_key'],
    [
      'slack bot token',
      `token: xoxb-${'1234567890'}-${'9876543210'}-${rand(ALNUM, 24)}`,
      'slack_token',
    ],
    ['anthropic key', `ANTHROPIC_API_KEY="sk-ant-api03-${rand(ALNUM, 90)}AA"`, 'anthropic_key'],
    ['openai project key', `sk-proj-${rand(ALNUM, 40)}T3BlbkFJ${rand(ALNUM, 40)}`, 'openai_key'],
    ['google api key', `key=AIza${rand(ALNUM, 35)}`, 'google_api_key'],
    ['npm token in .npmrc', `//registry.npmjs.org/:_authToken=npm_${rand(ALNUM, 36)}`, 'npm_token'],
    [
      'database URL password',
      'DATABASE_URL=postgres://app:S3cr3t-P4ss@db.internal:5432/prod',
      'url_password',
    ],
    ['bearer header', `Authorization: Bearer ${rand(ALNUM, 40)}`, 'auth_header'],
    ['generic password assignment', `db_password = "${rand(ALNUM, 18)}"`, 'generic_secret'],
    ['jwt', `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${rand(ALNUM, 43)}`, 'jwt'],
    ['digitalocean', `dop_v1_${rand(HEX, 64)}`, 'digitalocean_token'],
    [
      'pem key',
      `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA${rand(ALNUM, 120)}\n-----END RSA PRIVATE KEY-----`,
      'private_key',
    ],
  ])('%s', (_name, text, kind) => {
    const found = detectFindings(text);
    expect(found.map((f) => f.kind)).toContain(kind);
    const masked = maskSecrets(text).text;
    expect(masked).toContain(`[REDACTED:${kind}]`);
  });
});

describe('detectFindings: personal data, validated', () => {
  test('emails, Luhn-valid cards, mod-97 IBANs, valid SSNs, phones', () => {
    const text =
      'contact jane.doe@example.com, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6780, call +44 20 7946 0958';
    expect(detectFindings(text).map((f) => f.kind)).toEqual([
      'email',
      'card',
      'iban',
      'ssn',
      'phone',
    ]);
  });

  test('hard negatives stay: UUIDs, git SHAs, order numbers, versions, invalid cards and SSNs', () => {
    const text = [
      'id 3f2b8c1e-9d4a-4e6f-8a2b-1c3d5e7f9a0b',
      'commit 9fceb02d0ae598e95dc970b74767f19372d61af8',
      'order 4111111111111112',
      'version 1.2.3.4567',
      'ssn 000-12-3456 and 666-12-3456',
      'timestamp 1732190000000',
    ].join('\n');
    expect(detectFindings(text)).toEqual([]);
  });

  test('validators', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ssnValid('123-45-6780')).toBe(true);
    expect(ssnValid('900-45-6789')).toBe(false);
  });
});

describe('masking properties', () => {
  test('never throws, idempotent, never leaves a found value visible, bounded growth', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 400 }),
        fc.string({ maxLength: 200 }),
        (prefix, suffix) => {
          const secret = `ghp_${rand(ALNUM, 36, prefix.length)}`;
          const text = `${prefix} ${secret} ${suffix}`;
          const once = maskSecrets(text).text;
          expect(once).not.toContain(secret);
          expect(maskSecrets(once).text).toBe(once);
          expect(once.length).toBeLessThanOrEqual(text.length * 3 + 64);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('adversarial inputs: every rule completes (the ratio 10× input → ~10× time is measured in bench/, not here)', () => {
    const attacks = [
      'a'.repeat(20_000),
      '='.repeat(20_000),
      'ghp_'.repeat(5_000),
      'password='.repeat(2_000),
      '-----BEGIN PRIVATE KEY-----'.repeat(500),
      '1 '.repeat(10_000),
      '@a.'.repeat(7_000),
      'eyJ'.repeat(7_000) + '.',
      '\\u0041%41&#65;\u200b'.repeat(2_000),
      `${Buffer.from('password=hunter2 '.repeat(100)).toString('base64')} `.repeat(20),
      'Private-Lines: 9999\n'.repeat(1_000),
      'Cookie: a=b; '.repeat(2_000),
    ];
    for (const attack of attacks) {
      expect(() =>
        detectFindings(attack, { rules: builtInRules({ ipAddresses: true }) }),
      ).not.toThrow();
    }
  });

  test('rules are unique and keyword-gated', () => {
    const ids = SECRET_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(SECRET_RULES.length).toBeGreaterThanOrEqual(100);
    for (const r of SECRET_RULES) expect(r.keywords.length).toBeGreaterThan(0);
  });
});

describe('KeywordScanner', () => {
  test('property: finds exactly the keywords that occur (case-insensitive)', async () => {
    const { KeywordScanner } = await import('./keywords.js');
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.string({ unit: fc.constantFrom('a', 'b', 'c', '_'), minLength: 1, maxLength: 4 }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'A', 'B', '_', ' '), maxLength: 40 }),
        (words, text) => {
          const scanner = new KeywordScanner(words);
          const expected = words.flatMap((w, i) => (text.toLowerCase().includes(w) ? [i] : []));
          expect([...scanner.present(text)].sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('property: reports every offset where each keyword starts, overlaps included', async () => {
    const { KeywordScanner } = await import('./keywords.js');
    const naive = (text: string, word: string) => {
      const out: number[] = [];
      const lower = text.toLowerCase();
      for (let i = lower.indexOf(word); i >= 0; i = lower.indexOf(word, i + 1)) out.push(i);
      return out;
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: fc.constantFrom('a', 'b', 'é', '_', ' '), minLength: 1, maxLength: 5 }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.string({
          unit: fc.constantFrom('a', 'A', 'b', 'B', 'é', 'É', '_', ' ', 'z'),
          maxLength: 60,
        }),
        (words, text) => {
          const hits = new KeywordScanner(words).scan(text);
          words.forEach((w, i) => {
            const expected = naive(text, w);
            if (w.length === 1) expect(hits.has(i)).toBe(expected.length > 0);
            else expect(hits.get(i) ?? []).toEqual(expected);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
  test('property: digit runs are every maximal run of ASCII digits; keyword offsets do not change', async () => {
    const { KeywordScanner } = await import('./keywords.js');
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.string({ unit: fc.constantFrom('a', '1', '2', '.', ':'), minLength: 1, maxLength: 4 }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.string({
          unit: fc.constantFrom('a', 'A', '0', '1', '2', '9', '.', ':', ' ', '٣'),
          maxLength: 60,
        }),
        (words, text) => {
          const runs: number[] = [];
          const withDigits = new KeywordScanner(words, { digitRuns: true }).scan(text, runs);
          const expected = [...text.matchAll(/[0-9]+/g)].flatMap((m) => [
            m.index,
            m.index + m[0].length,
          ]);
          expect(runs).toEqual(expected);
          expect(withDigits).toEqual(new KeywordScanner(words).scan(text));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('characterRuns', () => {
  test('property: exactly the maximal runs of at least `min` marked characters', async () => {
    const { characterRuns } = await import('./keywords.js');
    const member = new Uint8Array(128);
    for (const ch of 'ab+') member[ch.charCodeAt(0)] = 1;
    const naive = (text: string, min: number) => {
      const out: number[] = [];
      let start = 0;
      for (let i = 0; i <= text.length; i += 1) {
        const c = text.charCodeAt(i);
        if (i < text.length && c < 128 && member[c] === 1) continue;
        if (i - start >= min) out.push(start, i);
        start = i + 1;
      }
      return out;
    };
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '+', ' ', '.', 'é'), maxLength: 120 }),
        fc.integer({ min: 1, max: 20 }),
        (text, min) => {
          expect(characterRuns(text, member, min)).toEqual(naive(text, min));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('rule prechecks', () => {
  test('property: a precheck never rejects an offset where its rule matches', () => {
    const checked = SECRET_RULES.filter((r) => r.precheck);
    expect(checked.length).toBeGreaterThan(0);
    const piece = fc.oneof(
      fc.constantFrom('password', 'passwd', 'pass', 'pwd', 'secret', 'token', 'api_key'),
      fc.constantFrom('access-key', 'private.key', 'credential', 'auth_key', 'PASSWORD', 'Token'),
      fc.constantFrom('api', 'APIKEY', 'Api-Key', 'accessKEY', 'PrivateKey', 'AUTH-key', 'auth'),
      fc.constantFrom('key', 'KEY', '_', '-', 'api_version', 'credentials', 'TOKEN_'),
      fc.constantFrom(':', '=', ':=', '=>', '::', '==', ' ', '\t', '"', "'", '\\', '\n', ','),
      fc.string({
        unit: fc.constantFrom('a', 'Z', '9', '_', '.', '-', '!', '/', 'é'),
        maxLength: 14,
      }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        for (const rule of checked) {
          for (const at of matchOffsets(rule, text))
            expect(rule.precheck?.(text, at), `${rule.id} at ${at}`).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('property: token, bearer and phone prechecks never reject an offset where their rule matches', () => {
    const checked = [...SECRET_RULES, ...PII_RULES].filter(
      (r) => r.precheck && !r.id.includes('assignment') && r.id !== 'generic-secret-spoken',
    );
    expect(checked.map((r) => r.id)).toEqual(
      expect.arrayContaining([
        'github-pat',
        'beamer-key',
        'bare-bearer',
        'phone-national',
        'twilio-key',
        'jwt',
      ]),
    );
    const piece = fc.oneof(
      fc.constantFrom(
        'ghp_',
        'b_',
        'sk_live_',
        'xoxb-',
        'glpat-',
        'AKIA',
        'npm_',
        'hf_',
        'x',
        'SK',
      ),
      fc.constantFrom('bearer', 'Bearer', 'BEARER', 'tel', 'phone', 'Call', 'whatsapp', 'fax'),
      fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', '\u2028', ':', '(', ')', '-', '.', '/'),
      fc.constantFrom('0', '(0', '020 7946 0958', '030 12345678', '06 12 34 56 78', '5'),
      fc.string({
        unit: fc.constantFrom('a', 'f', 'Z', '9', '0', '_', '-', '.', '~', '+', '/', '='),
        maxLength: 40,
      }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (parts) => {
        const text = parts.join('');
        for (const rule of checked) {
          for (const at of matchOffsets(rule, text))
            expect(rule.precheck?.(text, at), `${rule.id} at ${at}`).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * Each rule finds in each text what the same rule without its start-finding (`scanned`, a
 * whole-text scan) finds; returns how many findings there were.
 */
function expectFindingsOfWholeTextScan(
  rules: readonly DetectorRule[],
  texts: readonly string[],
  scanned: (rule: DetectorRule) => DetectorRule,
): number {
  let found = 0;
  for (const rule of rules) {
    for (const text of texts) {
      const findings = detectFindings(text, { rules: [rule] });
      found += findings.length;
      expect(findings, `${rule.id}: ${text}`).toEqual(
        detectFindings(text, { rules: [scanned(rule)] }),
      );
    }
  }
  return found;
}

describe('anchored rules', () => {
  /** Every offset `starts` gives for the rule's anchor, found here independently (either case). */
  function candidates(rule: DetectorRule, text: string): Set<number> {
    const { anchor, starts } = rule.anchored as NonNullable<DetectorRule['anchored']>;
    const out: number[] = [];
    const lower = text.toLowerCase();
    for (let at = lower.indexOf(anchor); at >= 0; at = lower.indexOf(anchor, at + 1))
      starts(text, at, out);
    expect(
      [...out].sort((a, b) => a - b),
      `${rule.id}: offsets in increasing order`,
    ).toEqual(out);
    return new Set(out);
  }
  const oneOf = (...xs: string[]) => fc.constantFrom(...xs);

  test('property: `starts` never leaves out an offset where the rule matches', () => {
    const checked = builtInRules({ ipAddresses: true }).filter((r) => r.anchored);
    expect(checked.map((r) => r.id)).toEqual(
      expect.arrayContaining([
        'aws-secret-access-key',
        'phone-e164',
        'email',
        'telegram-bot-token',
      ]),
    );
    for (const rule of checked) {
      const a = rule.anchored?.anchor ?? '';
      expect(a.length > 1 || a.toUpperCase() === a.toLowerCase(), `${rule.id} anchor`).toBe(true);
    }
    // Key names as the pattern spells them (and near misses), then a separator and a value.
    const awsKey = fc
      .tuple(
        oneOf('', 'aws', 'AWS', 'aw', 'x'),
        oneOf('', '_', ' ', '-'),
        oneOf('secret', 'SECRET', 'Secret', 'secre'),
        oneOf('', '_', ' ', '__'),
        oneOf('', 'access', 'ACCESS', 'acces'),
        oneOf('', '_', ' '),
        oneOf('key', 'KEY', 'Key', 'ke'),
        oneOf('=', ' = ', ': ', ' ', '\\"', '"', "'", ':\t'),
      )
      .map((p) => p.join(''));
    const phone = fc
      .tuple(
        oneOf('', 'a', '_', '+', ' ', '1', '('),
        oneOf('+', '+0', '+1', '+44'),
        oneOf('', ' ', '-', '.', '('),
        fc.string({ unit: oneOf('0', '5', '9', ' ', '-', '.', '(', ')'), maxLength: 16 }),
      )
      .map((p) => p.join(''));
    const piece = fc.oneof(
      awsKey,
      phone,
      oneOf('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '+1 415 555 2671', '+44 (20) 7946'),
      oneOf('@', 'a@b.co', 'zoë@correo.es', '@x.example.org', '.', ':AA', ':aa', '123456789:AA'),
      fc.string({ unit: oneOf('a', 'B', '0', '.', '-', '_', '@', 'é'), maxLength: 36 }),
      oneOf('_', ' ', '=', '"', '\n', '+', '-', '.'),
      fc.string({ unit: oneOf('a', 'Z', '0', '1', '9', '_', '/', '+', '='), maxLength: 44 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        const text = parts.join('');
        for (const rule of checked) {
          const starts = candidates(rule, text);
          for (const at of matchOffsets(rule, text))
            expect(starts.has(at), `${rule.id} at ${at}`).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('findings are those of a scan of the whole text', () => {
    const value = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
    const texts = [
      `aws_secret_access_key = ${value}`,
      `AWS Secret Key: ${value}; x_secret key ${value}`,
      'call +1 415 555 2671 or +44 (20) 7946 0958; not a+1 415 555 2671 or ++1 415 555 2671',
      `the secret was revoked; secretkey=x; secret_access-key ${value}`,
    ];
    const anchored = builtInRules({ ipAddresses: true }).filter((r) => r.anchored);
    const found = expectFindingsOfWholeTextScan(anchored, texts, (r) => ({
      ...r,
      anchored: undefined,
    }));
    expect(found).toBeGreaterThanOrEqual(5);
  });
});

describe('digit-run rules', () => {
  const oneOf = (...xs: string[]) => fc.constantFrom(...xs);
  /** Digits, separators, letters of both cases and whole values of every digit-run rule's kind. */
  const piece = fc.oneof(
    fc.string({ unit: oneOf('0', '1', '2', '3', '5', '9'), minLength: 1, maxLength: 5 }),
    oneOf(' ', '.', '-', '(', ')', ':', '::', '_', '+', '\n', 'a', 'Z', 'de', 'GB', 'x1', 'é'),
    oneOf(
      '4111 1111 1111 1111',
      '4111.1111.1111.1111',
      '5 4111 1111 1111 1111',
      '123-45-6789',
      '(415) 555-2671',
      '415.555.2671',
      '212 555-0134',
      '(299)-200.1000',
      '93.184.216.34',
      '1.2.3.4.5',
      'DE89 3704 0044 0532 0130 00',
      'de89370400440532013000',
      'iban gb82 west 1234 5698 7654 32',
      'gb82west12345698765432',
      'x de89370400440532013000 ',
      '2001:db8::1',
      '2a00:1450:4001:81b::200e',
      '3fff:1:2::9',
      'fe80::1',
    ),
  );
  const rules = builtInRules({ ipAddresses: true });
  const withDigitStarts = rules.filter((r) => r.digitStarts);

  test('property: `digitStarts` never leaves out an offset where the rule matches', async () => {
    const { KeywordScanner } = await import('./keywords.js');
    expect(withDigitStarts.map((r) => r.id)).toEqual(
      expect.arrayContaining(['payment-card', 'iban', 'us-ssn', 'phone-us', 'ipv4']),
    );
    const scanner = new KeywordScanner([], { digitRuns: true });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (parts) => {
        const text = parts.join('');
        const runs: number[] = [];
        scanner.scan(text, runs);
        for (const rule of withDigitStarts) {
          const out = [...(rule.digitStarts?.(text, runs) ?? [])];
          expect(
            [...out].sort((a, b) => a - b),
            `${rule.id}: increasing`,
          ).toEqual(out);
          const starts = new Set(out);
          for (const at of matchOffsets(rule, text))
            expect(starts.has(at), `${rule.id} at ${at} in ${text}`).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  /** The IPv6 finder as it was, from every colon (a reference for the digit-run one). */
  function ipv6FromColons(text: string): { start: number; end: number }[] {
    const hex = (c: number) => /[0-9A-Fa-f]/.test(String.fromCharCode(c));
    const word = (c: number) => /[0-9A-Za-z_]/.test(String.fromCharCode(c));
    const out: { start: number; end: number }[] = [];
    const run = /[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.[0-9]{1,3}){0,3}/y;
    for (let at = text.indexOf(':'); at >= 0; at = text.indexOf(':', at + 1)) {
      let second = at + 1;
      while (second - at <= 4 && hex(text.charCodeAt(second))) second += 1;
      if (text.charCodeAt(second) !== 0x3a) continue;
      let start = at;
      while (start > 0 && at - start < 4 && hex(text.charCodeAt(start - 1))) start -= 1;
      const before = text.charCodeAt(start - 1);
      if (word(before) || before === 0x2e || before === 0x3a) continue;
      run.lastIndex = start;
      const m = run.exec(text);
      if (!m) continue;
      const end = start + m[0].length;
      at = end;
      if (word(text.charCodeAt(end))) continue;
      out.push({ start, end });
    }
    return out;
  }

  /** Global unicast outside the documentation range (what the rule reports), by Node's parser. */
  function globalUnicast(address: string): boolean {
    if (!isIPv6(address) || address.startsWith('::') || !/[0-9]/.test(address)) return false;
    const groups = address.split(':').filter((g) => g !== '');
    const first = parseInt(groups[0] ?? '0', 16);
    if (groups.length < 3 || (first === 0x2001 && parseInt(groups[1] ?? '0', 16) === 0xdb8))
      return false;
    return first >= 0x2000 && first <= 0x3fff;
  }

  /** The lower-case IBAN finder as it was, from a scan of the whole text for `cc00` heads. */
  function lowercaseIbansFromHeads(text: string): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    const head = /(?<![A-Za-z0-9])[a-z]{2}[0-9]{2}/g;
    for (let m = head.exec(text); m !== null; m = head.exec(text)) {
      const length = ibanLength(m[0]);
      if (length === undefined) continue;
      let end = m.index + 4;
      let n = 4;
      while (n < length && end < text.length) {
        const c = text.charCodeAt(end);
        if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a)) n += 1;
        else if (c !== 0x20 || text.charCodeAt(end - 1) === 0x20) break;
        end += 1;
      }
      if (n !== length || /[A-Za-z0-9]/.test(text[end] ?? '')) continue;
      out.push({ start: m.index, end });
      head.lastIndex = end;
    }
    return out;
  }

  test('property: the IPv6 and lower-case IBAN finders find what a scan of the whole text finds', async () => {
    const { KeywordScanner } = await import('./keywords.js');
    const scanner = new KeywordScanner([], { digitRuns: true });
    const ipv6 = rules.find((r) => r.id === 'ipv6') as DetectorRule;
    const ibanLower = rules.find((r) => r.id === 'iban-lowercase') as DetectorRule;
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (parts) => {
        const text = parts.join('');
        const runs: number[] = [];
        scanner.scan(text, runs);
        // Every public address the colon scan finds.
        const publicOnes = ipv6FromColons(text).filter((s) =>
          globalUnicast(text.slice(s.start, s.end)),
        );
        expect(ipv6.find?.(text, runs)).toEqual(publicOnes);
        expect(ibanLower.find?.(text, runs)).toEqual(lowercaseIbansFromHeads(text));
      }),
      { numRuns: 3000 },
    );
  });

  test('findings are those of a scan of the whole text', () => {
    const texts = [
      'card 4111 1111 1111 1111, 4111.1111.1111.1111 and 5 4111 1111 1111 1111; not 4111-1111',
      'ssn 123-45-6789 a123-45-6789 1234-45-6789; call (415) 555-2671 or 415.555.2671 x(415) 555-2671',
      'from 93.184.216.34 via 10.0.0.1, v1.2.3.4 and 1.2.3.4.5; DE89 3704 0044 0532 0130 00',
      'IBAN de89 3704 0044 0532 0130 00; gb82west12345698765432; 2a00:1450:4001:81b::200e fe80::1',
    ];
    const found = expectFindingsOfWholeTextScan(withDigitStarts, texts, (r) => ({
      ...r,
      digitStarts: undefined,
    }));
    expect(found).toBeGreaterThanOrEqual(10);
  });
});

/**
 * Values from a rule's own pattern, the same on every run (lookarounds left out; long counted
 * repeats such as `{100,8000}` cut to 64 above their minimum: the values stay ones the pattern
 * accepts, and generating them does not take a minute).
 */
function patternValues(
  RandExp: typeof RandExpClass,
  rule: DetectorRule,
  seed: number,
): { gen(): string } {
  const source = stripLookarounds(rule.pattern.source).replace(
    /\{(\d+),(\d+)\}/g,
    (_, lo: string, hi: string) => `{${lo},${Math.min(Number(hi), Number(lo) + 64)}}`,
  );
  const gen = new RandExp(new RegExp(source, rule.pattern.flags.replace('g', '')));
  gen.max = 6;
  let state = seed;
  gen.randInt = (lo: number, hi: number) =>
    lo + ((state = (state * 48271) % 2147483647) % (hi - lo + 1));
  return gen;
}

describe('rules tried only at their keywords or anchors', () => {
  test("every match of a value from the rule's own pattern, in any context, starts where the rule is tried", async () => {
    const { default: RandExp } = await import('randexp');
    const { KeywordScanner } = await import('./keywords.js');
    const tried = builtInRules({ ipAddresses: true }).filter((r) => r.anchored || r.keywordStarts);
    expect(tried.map((r) => r.id)).toEqual(
      expect.arrayContaining([
        'pem-private-key',
        'teams-webhook',
        'discord-webhook',
        'docker-config-auth',
        'gcp-service-account-key',
        'openai-legacy-key',
        'azure-entra-secret',
        'npmrc-auth',
      ]),
    );
    /** The offsets the engine tries the rule at (detect.ts does the same from one scan). */
    const startsOf = (rule: DetectorRule, text: string): Set<number> => {
      const out: number[] = [];
      if (rule.anchored) {
        const { anchor, starts } = rule.anchored;
        const lower = text.toLowerCase();
        for (let at = lower.indexOf(anchor); at >= 0; at = lower.indexOf(anchor, at + 1))
          starts(text, at, out);
        expect(
          [...out].sort((a, b) => a - b),
          `${rule.id}: increasing`,
        ).toEqual(out);
      } else {
        for (const offsets of new KeywordScanner(rule.keywords).scan(text).values())
          out.push(...(offsets ?? []));
      }
      return new Set(out);
    };
    const contexts = ['', ' ', 'x', '\\', '"', '\\"', '.', '?', '&', 'https://', 'AA', '1', '\n'];
    let matched = 0;
    for (const rule of tried) {
      const gen = patternValues(RandExp, rule, 3);
      for (let i = 0; i < 12; i += 1) {
        const value = gen.gen();
        const text = `${contexts[i % contexts.length]}${value}${contexts[(i * 5 + 3) % contexts.length]} ${value}`;
        const starts = startsOf(rule, text);
        for (const at of matchOffsets(rule, text)) {
          matched += 1;
          expect(starts.has(at), `${rule.id} at ${at} in ${JSON.stringify(text)}`).toBe(true);
        }
      }
    }
    expect(matched).toBeGreaterThan(tried.length * 5);
  });
});

describe('every rule, from its own pattern', () => {
  const rules = builtInRules({ ipAddresses: true }).filter((r) => !r.find);

  test('a value a rule accepts is found by the whole engine in plain context (keywords cover it)', async () => {
    const { default: RandExp } = await import('randexp');
    const gaps: string[] = [];
    for (const rule of rules) {
      const gen = patternValues(RandExp, rule, 1);
      for (let i = 0; i < 30; i += 1) {
        let value = gen.gen();
        if (rule.back)
          value = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6'.slice(0, Math.max(rule.back.min, 1)) + value;
        const context = ` ${value} ${rule.kind.replace(/_/g, ' ')} `;
        // Only values the rule itself accepts (gates and validators) are a fair test.
        const ungated = { ...rule, keywords: [' '], keywordStarts: false };
        if (detectFindings(context, { rules: [ungated] }).length === 0) continue;
        const all = detectFindings(context, { rules: builtInRules({ ipAddresses: true }) });
        if (all.length === 0) gaps.push(`${rule.id}: ${JSON.stringify(value).slice(0, 60)}`);
      }
    }
    expect(gaps).toEqual([]);
  });

  test('hostile input cannot stall any rule: 1 MB built from its keywords and classes', () => {
    // A hang fails this test by its timeout; the 10×-input time ratios are in `npm run bench:masking`.
    const units = ['a', '1', '1-', 'a@', 'a.', ':a', '-----BEGIN PRIVATE KEY-----\n', 'key='];
    for (const rule of builtInRules({ ipAddresses: true })) {
      for (const unit of [...units, `${rule.keywords[0] ?? ''}aA1-_.=: `]) {
        const text = unit.repeat(Math.ceil(1_000_000 / unit.length));
        expect(() => detectFindings(text, { rules: [rule] })).not.toThrow();
      }
    }
  }, 120_000);
});

describe('real formats (issue 15, item 11)', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const pem = `-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA${rand(ALNUM, 200)}\n-----END RSA PRIVATE KEY-----\n`;
  const putty = [
    'PuTTY-User-Key-File-3: ssh-ed25519',
    'Encryption: none',
    'Comment: ann@laptop',
    'Public-Lines: 2',
    rand(ALNUM, 64),
    rand(ALNUM, 20),
    'Private-Lines: 1',
    rand(ALNUM, 44, 3),
    `Private-MAC: ${rand(HEX, 64)}`,
  ].join('\n');
  test.each([
    ['kubeconfig client-key-data', `    client-key-data: ${b64(pem)}`, b64(pem), 'private_key'],
    [
      'Docker config auth',
      `{"auths": {"ghcr.io": {"auth": "${b64(`ann:${rand(ALNUM, 14)}`)}"}}}`,
      b64(`ann:${rand(ALNUM, 14)}`),
      'basic_auth',
    ],
    [
      'npmrc _auth',
      `//npm.example.com/:_auth=${b64(`ann:${rand(ALNUM, 10, 5)}`)}`,
      b64(`ann:${rand(ALNUM, 10, 5)}`),
      'basic_auth',
    ],
    [
      'JSON with escaped slashes',
      `{"dsn": "postgres:\\/\\/app:S3c${rand(ALNUM, 9)}@db.internal:5432\\/orders"}`,
      `S3c${rand(ALNUM, 9)}`,
      'url_password',
    ],
    [
      'Google ya29 token',
      `access ya29.${rand(ALNUM, 120)}`,
      `ya29.${rand(ALNUM, 120)}`,
      'google_oauth_token',
    ],
    [
      'Set-Cookie session value',
      `Set-Cookie: session=${rand(ALNUM, 32)}; Path=/; HttpOnly; Secure`,
      rand(ALNUM, 32),
      'session_cookie',
    ],
    ['low-entropy NAME= password', 'DB_PASSWORD=summer', 'summer', 'generic_secret'],
    [
      'low-entropy "password":',
      '{"user": "ann", "password": "hunter2"}',
      'hunter2',
      'generic_secret',
    ],
    ['YAML password', '  password: hunter2', 'hunter2', 'generic_secret'],
    [
      '.pgpass line',
      `db.example.com:5432:orders:app:${rand(ALNUM, 12)}`,
      rand(ALNUM, 12),
      'generic_secret',
    ],
    ['PuTTY private lines', putty, rand(ALNUM, 44, 3), 'private_key'],
    ['SSN with spaces after SSN', 'SSN: 536 22 8125', '536 22 8125', 'ssn'],
    ['SSN without separators after SSN', '{"ssn": "536228125"}', '536228125', 'ssn'],
    ['card with dots', 'card 4111.1111.1111.1111 exp 09/29', '4111.1111.1111.1111', 'card'],
    ['lower-case IBAN', 'iban: de89 3704 0044 0532 0130 00', 'de89 3704 0044 0532 0130 00', 'iban'],
    ['UK national phone', 'call me on 020 7946 0958 after 5', '020 7946 0958', 'phone'],
    ['German national phone', 'Telefon: 030 12345678', '030 12345678', 'phone'],
    ['French national phone', 'tel 06 12 34 56 78', '06 12 34 56 78', 'phone'],
    ['non-ASCII e-mail', 'contact josé.garcía@correo.es today', 'josé.garcía@correo.es', 'email'],
  ])('%s is masked', (_name, text, value, kind) => {
    const found = detectFindings(text);
    expect(found.map((f) => f.kind)).toContain(kind);
    expect(maskSecrets(text).text).not.toContain(value);
  });

  test('a value longer than the pattern bound is masked whole (no tail beyond 256 characters)', () => {
    for (const text of [
      `API_TOKEN=${rand(ALNUM, 700)}`,
      `{"client_secret": "${rand(ALNUM, 5000)}"}`,
      `Authorization: Bearer ${rand(ALNUM, 5000)}`,
    ]) {
      const masked = maskSecrets(text).text;
      expect(masked).toMatch(/\[REDACTED:[a-z_]+\]"?\}?$/);
      expect(masked.length).toBeLessThan(80);
    }
  });
});

describe('over-masking (issue 15, item 12): hard negatives stay as they are', () => {
  test.each([
    'PWD=/home/ann/projects/gatehouse',
    'OLDPWD=/srv/app/releases/2026-11-21',
    '{"pwd": "/home/ann/projects/app"}',
    '{"tokenizer": "GPT2TokenizerFast"}',
    '{"tokenizer_class": "LlamaTokenizerFast", "model_max_length": 4096}',
    '{"max_tokens": 4096, "token_count": 1234567, "total_tokens": 88123}',
    'tokens: 123456789',
    'usage: prompt_tokens=1532 completion_tokens=377',
    'password: required',
    'password: string;',
    '"password": "must not be empty"',
    'password=args.password',
    'secret: my-db-secret',
    'token_type: bearer_token_v2',
    'password_min_length: 12',
    // An SDK's own error text: "pass" is the verb, the next word a key being named.
    'set autoFulfill to false and pass allowInputRequired: true on the call',
    'pass retryOnConflict= 3 to the client',
  ])('%s', (text) => {
    expect(detectFindings(text)).toEqual([]);
  });
});

describe('well-known test numbers (issue 23, item 11)', () => {
  // Decision: masked. To a reader of a transcript they cannot be told from real numbers, and
  // the cost of masking a sample value is nil; only numbers that cannot exist (SSN area 000,
  // 666 or 9xx, group 00, serial 0000, Luhn-invalid cards) stay visible.
  test.each([
    ['SSN 123-45-6789', 'ssn'],
    ['SSN 078-05-1120', 'ssn'],
    ['card 4111 1111 1111 1111', 'card'],
    ['card 4242 4242 4242 4242', 'card'],
    ['card 5555 5555 5555 4444', 'card'],
    ['card 3782 822463 10005', 'card'],
  ])('%s is masked', (text, kind) => {
    expect(detectFindings(text).map((f) => f.kind)).toEqual([kind]);
  });

  test('numbers that cannot be real stay visible', () => {
    expect(detectFindings('SSN 000-12-3456, 666-12-3456, 912-34-5678, 111-11-1111')).toEqual([]);
  });
});
