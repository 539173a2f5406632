import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import { requirementsFileOwnership } from './file-ownership.js';

const isRoot = process.getuid?.() === 0;

function file(mode = 0o644, dirMode = 0o755): string {
  const dir = join(tempDir(), 'etc');
  mkdirSync(dir, { mode: dirMode });
  chmodSync(dir, dirMode);
  const path = join(dir, 'requirements.toml');
  writeFileSync(path, '', { mode });
  chmodSync(path, mode);
  return path;
}

describe('requirementsFileOwnership', () => {
  test('a file owned by the user running Gatehouse is theirs, not a floor', () => {
    const path = file();
    const uid = isRoot ? 4242 : (process.getuid?.() as number);
    if (isRoot) chownSync(path, uid, 0);
    expect(requirementsFileOwnership(path, uid)).toMatchObject({
      adminOwned: false,
      why: expect.stringContaining('owned by you'),
    });
  });

  test.skipIf(!isRoot)('as root: a root-owned file nobody else can write is the admin’s', () => {
    expect(requirementsFileOwnership(file(), 0).adminOwned).toBe(true);
  });

  test.skipIf(!isRoot)('as root: group/other-writable file or directory is not', () => {
    expect(requirementsFileOwnership(file(0o666), 0)).toMatchObject({ adminOwned: false });
    expect(requirementsFileOwnership(file(0o644, 0o777), 0)).toMatchObject({
      adminOwned: false,
      why: expect.stringContaining('directory'),
    });
  });

  test.skipIf(!isRoot)(
    'a symlink into a user-owned file is judged by the file it points to',
    () => {
      const target = file();
      chownSync(target, 4242, 0);
      const link = join(tempDir(), 'requirements.toml');
      symlinkSync(target, link);
      expect(requirementsFileOwnership(link, 0)).toMatchObject({ adminOwned: false });
    },
  );

  test('an unresolvable path is not a floor', () => {
    expect(requirementsFileOwnership(join(tempDir(), 'nope.toml'), 1000).adminOwned).toBe(false);
  });
});
