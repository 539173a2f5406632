import { describe, expect, test } from 'vitest';
import { maskCommand, storeStream } from './evidence.js';

describe('release evidence keeps no secret and no personal data', () => {
  test('the command line: curl -u user:pass, -p pass, header tokens, URLs', () => {
    const argv = [
      'curl',
      '-u',
      'bob:pa55w0rdX',
      '-H',
      'Authorization: Bearer tok3nValue99',
      '--header=X-Api-Key: k3yValue77',
      'https://deploy:hunterTwo@example.com/hook?pw=s3cretPw',
    ];
    const masked = maskCommand(argv).join(' ');
    for (const secret of ['pa55w0rdX', 'tok3nValue99', 'k3yValue77', 'hunterTwo', 's3cretPw'])
      expect(masked).not.toContain(secret);
    expect(maskCommand(['mysqldump', '-u', 'root', '-pR00tPassw', 'db']).join(' ')).not.toContain(
      'R00tPassw',
    );
    expect(maskCommand(['sshpass', '-p', 'Sekr1tPass', 'ssh', 'host'])).toEqual([
      'sshpass',
      '-p',
      '*****',
      'ssh',
      'host',
    ]);
  });

  test('JSON output: personal data masked at every depth, top-level strings included', () => {
    const raw = JSON.stringify({
      owner: 'jane.doe@example.com',
      contact: { phone: '+1 415 555 0132', note: 'mail jane.doe@example.com' },
      list: ['alice@example.org'],
      password: 'hunter2hunter2',
      'bob@example.net': 'key is an e-mail',
    });
    const stored = storeStream(Buffer.from(raw));
    const text = JSON.stringify(stored.json);
    for (const pii of [
      'jane.doe@example.com',
      'alice@example.org',
      'bob@example.net',
      'hunter2hunter2',
    ])
      expect(text).not.toContain(pii);
    expect(stored.format).toBe('json');
  });
});
