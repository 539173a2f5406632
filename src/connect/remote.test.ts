import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseTomlText } from './codex-config.js';
import { JSON_CLIENTS, parseJsonText } from './json-config.js';
import {
  checkRemoteUrl,
  codexRemoteEntry,
  jsonRemoteEntry,
  planCodexRemote,
  planJsonRemote,
  verifyRemoteEdit,
} from './remote.js';

const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
const tokenEnv = fc.option(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/), { nil: undefined });
const URL = 'https://gw.example.com/mcp';

describe('checkRemoteUrl', () => {
  test('plain http is accepted only for loopback hosts; https always; credentials never', () => {
    const host = fc.oneof(
      fc.constantFrom('localhost', '127.0.0.1', '127.8.9.10', '[::1]'),
      fc.domain(),
      fc.ipV4().filter((ip) => !ip.startsWith('127.')),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https', 'ftp', 'ws'),
        host,
        fc.boolean(),
        (scheme, h, creds) => {
          const url = `${scheme}://${creds ? 'me:s3cretpw@' : ''}${h}/mcp`;
          const r = checkRemoteUrl(url);
          const loopback = /^(localhost|127(\.\d+){3}|\[::1\])$/.test(h);
          const expected = !creds && (scheme === 'https' || (scheme === 'http' && loopback));
          expect(r.ok).toBe(expected);
          if (!r.ok) expect(r.message).not.toContain('s3cretpw');
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('planCodexRemote', () => {
  test('any table-form config gets exactly one entry more; every other byte stays', () => {
    const server = fc.tuple(name, fc.constantFrom('npx', 'node', 'uvx'));
    const config = fc
      .record({
        comment: fc.constantFrom('', '# mine\n'),
        top: fc.constantFrom('', 'model = "o4"\n'),
        servers: fc.uniqueArray(server, { selector: (s) => s[0], maxLength: 4 }),
        crlf: fc.boolean(),
      })
      .map(({ comment, top, servers, crlf }) => {
        const text =
          comment +
          top +
          servers.map(([n, c]) => `\n[mcp_servers.${n}]\ncommand = "${c}" # x\n`).join('');
        return crlf ? text.replace(/\n/g, '\r\n') : text;
      });
    fc.assert(
      fc.property(config, name, tokenEnv, (text, entryName, env) => {
        const parsed = parseTomlText(text, 'c.toml');
        if (!parsed.ok) throw new Error('bad fixture');
        const plan = planCodexRemote(parsed.doc, 'c.toml', entryName, URL, env);
        const exists = entryName in ((parsed.doc.value.mcp_servers as object | undefined) ?? {});
        if (exists) {
          expect(plan.ok).toBe(false);
          return;
        }
        if (!plan.ok) throw new Error(plan.message);
        expect(plan.text.startsWith(text)).toBe(true);
        const after = parseTomlText(plan.text, 'c.toml');
        expect(after.ok).toBe(true);
        if (after.ok)
          expect(
            verifyRemoteEdit(
              parsed.doc.value,
              after.doc.value,
              'mcp_servers',
              entryName,
              codexRemoteEntry(URL, env),
            ),
          ).toBe(true);
        // Applying the same plan again is a no-op.
        if (after.ok) {
          const again = planCodexRemote(after.doc, 'c.toml', entryName, URL, env);
          expect(again).toEqual({ ok: true, text: plan.text, action: 'already_connected' });
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('planJsonRemote', () => {
  test('the JSON clients: exactly one entry more, comments kept, the token never inline', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(JSON_CLIENTS)),
        fc.constantFrom('', '{}\n', '// c\n{\n  "other": 1\n}\n', '{\n\t"x": {"a": [1]}\n}\n'),
        name,
        tokenEnv,
        (client, text, entryName, env) => {
          const parsed = parseJsonText(text, 'm.json');
          if (!parsed.ok) throw new Error('bad fixture');
          const plan = planJsonRemote(client, parsed.doc, 'm.json', entryName, URL, env);
          if (!plan.ok) throw new Error(plan.message);
          if (text.startsWith('// c')) expect(plan.text.startsWith('// c\n')).toBe(true);
          const after = parseJsonText(plan.text, 'm.json');
          expect(after.ok).toBe(true);
          const wanted = jsonRemoteEntry(client, URL, env);
          if (after.ok)
            expect(
              verifyRemoteEdit(
                parsed.doc.value,
                after.doc.value,
                client.serversKey,
                entryName,
                wanted,
              ),
            ).toBe(true);
          if (env) expect(JSON.stringify(wanted)).toMatch(/Bearer \$\{(env:)?[A-Z]/);
        },
      ),
      { numRuns: 200 },
    );
  });
});
