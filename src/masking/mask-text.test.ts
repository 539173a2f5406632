import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MASK, maskArgs, maskText, maskUrl } from './mask-text.js';

/** Passwords that contain a letter (a bare number after `-p` is read as a port) and stand out. */
const password = fc
  .string({
    minLength: 6,
    maxLength: 24,
    unit: fc.constantFrom(...'abcdefXYZ0123456789!%^~'.split('')),
  })
  .filter((p) => /[a-zA-Z]/.test(p))
  .map((p) => `Qz${p}`);

/** Every option syntax that carries a password, as argv. */
const SYNTAXES: readonly ((p: string) => string[])[] = [
  (p) => ['--password', p],
  (p) => [`--password=${p}`],
  (p) => ['--pass', p],
  (p) => ['--db-pw', p],
  (p) => ['-p', p],
  (p) => [`-p${p}`],
  (p) => ['-u', `alice:${p}`],
  (p) => [`-ualice:${p}`],
  (p) => ['--user', `alice:${p}`],
  (p) => [`--user=alice:${p}`],
  (p) => ['-H', `Authorization: Bearer ${p}`],
  (p) => [`--header=X-Api-Key: ${p}`],
  (p) => ['-d', `user=alice&password=${p}`],
  (p) => ['--data', JSON.stringify({ user: 'alice', password: p })],
  (p) => [`DB_PASSWORD=${p}`],
  (p) => [`https://alice:${p}@db.example.com/x`],
  (p) => [`https://${p}@github.com/acme/repo.git`],
  (p) => [`https://example.com/api?pw=${p}&x=1`],
  (p) => [`--url=https://example.com/cb#access_token=${p}`],
  (p) => ['--endpoint', `postgres://svc:${p}@10.0.0.5:5432/db`],
];

describe('maskArgs knows option syntaxes (property)', () => {
  test('no password survives, whatever surrounds it; the argument count is kept', () => {
    fc.assert(
      fc.property(
        password,
        fc.integer({ min: 0, max: SYNTAXES.length - 1 }),
        fc.array(fc.constantFrom('-y', 'server', '--verbose', '/srv/data', '--port', '8080'), {
          maxLength: 3,
        }),
        (p, which, around) => {
          const argv = [...around, ...(SYNTAXES[which] as (p: string) => string[])(p), ...around];
          const masked = maskArgs(argv);
          expect(masked).toHaveLength(argv.length);
          expect(masked.join(' ')).not.toContain(p);
        },
      ),
    );
  });

  test('masking is idempotent', () => {
    fc.assert(
      fc.property(password, fc.integer({ min: 0, max: SYNTAXES.length - 1 }), (p, which) => {
        const once = maskArgs((SYNTAXES[which] as (p: string) => string[])(p));
        expect(maskArgs(once)).toEqual(once);
      }),
    );
  });

  test('ordinary arguments are left alone (precision)', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9/._-]{0,15}$/);
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), (argv) => {
        expect(maskArgs(argv)).toEqual(argv);
      }),
    );
    expect(maskArgs(['-p', '8080', '-p', '127.0.0.1:3000:3000', '-y', '@scope/pkg@1.2.3'])).toEqual(
      ['-p', '8080', '-p', '127.0.0.1:3000:3000', '-y', '@scope/pkg@1.2.3'],
    );
    // `-p` is npx's --package: a package spec is not a password (and is what a schema lock pins).
    for (const spec of [
      '@modelcontextprotocol/server-filesystem',
      'mcp-server-fetch@1.2.0',
      '/srv/data',
    ])
      expect(maskArgs(['-y', '-p', spec, 'cmd'])).toEqual(['-y', '-p', spec, 'cmd']);
    expect(maskArgs(['-u', 'alice', '-H', 'Accept: application/json'])).toEqual([
      '-u',
      'alice',
      '-H',
      'Accept: application/json',
    ]);
  });

  test('the observed cases', () => {
    expect(maskArgs(['mysql', '-u', 'root', '-pS3cretPw!'])).toEqual([
      'mysql',
      '-u',
      'root',
      `-p${MASK}`,
    ]);
    expect(maskArgs(['sshpass', '-p', 'hunter2x', 'ssh', 'h'])).toEqual([
      'sshpass',
      '-p',
      MASK,
      'ssh',
      'h',
    ]);
    expect(maskArgs(['curl', '-u', 'bob:pa55word', 'https://x'])).toEqual([
      'curl',
      '-u',
      `bob:${MASK}`,
      'https://x',
    ]);
    expect(
      maskArgs([
        '--webhook',
        'https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx',
      ]),
    ).toEqual(['--webhook', `https://hooks.slack.com/services/${MASK}`]);
  });
});

describe('maskUrl (property)', () => {
  test('credentials never survive; a URL without any keeps its exact text', () => {
    fc.assert(
      fc.property(
        password,
        fc.constantFrom('https', 'http', 'postgres', 'redis', 'wss'),
        (p, scheme) => {
          for (const url of [
            `${scheme}://user:${p}@host.example:1234/path`,
            `${scheme}://host.example/p?token=${p}`,
            `${scheme}://host.example/p?pw=${p}`,
            `${scheme}://host.example/p#access_token=${p}`,
          ])
            expect(maskUrl(url)).not.toContain(p);
        },
      ),
    );
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: false, withFragments: false }), (url) => {
        const masked = maskUrl(url);
        if (!masked.includes(MASK)) expect(masked).toBe(url);
      }),
    );
  });

  test('token-only userinfo, webhook paths and secret-looking path segments', () => {
    expect(maskUrl('https://ghs_abcdefabcdefabcdef1234@github.com/a/b.git')).toBe(
      `https://${MASK}@github.com/a/b.git`,
    );
    expect(maskUrl('ssh://git@github.com/a/b.git')).toBe('ssh://git@github.com/a/b.git');
    expect(maskUrl('https://discord.com/api/webhooks/1234/AbCdEf-ghijkl')).toBe(
      `https://discord.com/api/webhooks/1234/${MASK}`,
    );
    expect(maskUrl('https://api.example.com/hook/Xy7Kp2Lm9Qr4St6Uv8Wz0Ab')).toBe(
      `https://api.example.com/hook/${MASK}`,
    );
    expect(
      maskUrl('https://github.com/acme/repo/commit/0123456789abcdef0123456789abcdef01234567'),
    ).toBe('https://github.com/acme/repo/commit/0123456789abcdef0123456789abcdef01234567');
  });

  test('maskText masks URLs inside free text', () => {
    expect(maskText('cannot fetch https://bob:hunter2pass@example.com/r.toml: 404')).toBe(
      `cannot fetch https://bob:${MASK}@example.com/r.toml: 404`,
    );
  });
});
