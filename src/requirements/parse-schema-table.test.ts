import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { RequirementSource } from './model.js';
import { schemaPolicyOf } from './parse-schema-table.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/etc/gh/r.toml' };

const parse = (text: string, source: RequirementSource = SRC) => parseLayer(text, source);

describe('[gatehouse_schema]', () => {
  test('defaults: lock optional, block breaking and risky, warn on widening, allow cosmetic', () => {
    const req = composeRequirementLayers([parse('').layer]).schema;
    expect(schemaPolicyOf(req)).toEqual({
      lock: 'optional',
      onClass: {
        breaking: 'block',
        risky: 'block',
        widening: 'warn',
        version: 'warn',
        cosmetic: 'allow',
      },
    });
    expect(req.lockPath).toBeNull();
  });

  test('every key is read; lock_path is relative to the file; class keys beat on_drift; higher layers win', () => {
    const low = parse(
      '[gatehouse_schema]\nlock_path = "locks/gatehouse.lock.json"\non_breaking = "block"\non_drift = "warn"\nlock = "required"\n',
    );
    expect(low.diagnostics).toEqual([]);
    const high = parse('[gatehouse_schema]\non_widening = "approve"\n', {
      kind: 'system_file',
      path: '/etc/gatehouse/requirements.toml',
    });
    const req = composeRequirementLayers([low.layer, high.layer]).schema;
    expect(req.lockPath).toEqual({ value: '/etc/gh/locks/gatehouse.lock.json', source: SRC });
    expect(schemaPolicyOf(req)).toEqual({
      lock: 'required',
      onClass: {
        breaking: 'block',
        risky: 'warn',
        widening: 'approve',
        version: 'warn',
        cosmetic: 'allow',
      },
    });
  });

  test.each([
    ['on_drift = "ignore"', /expected one of "block", "approve", "warn", "allow", got "ignore"/],
    ['lock = true', /expected "required" or "optional"/],
    ['lock_path = ""', /non-empty file path/],
    ['on_risky = 1', /expected one of/],
  ])('%s is an error naming the key (the layer then fails closed)', (line, message) => {
    const found = parse(`[gatehouse_schema]\n${line}\n`).diagnostics.filter(
      (d) => d.severity === 'error',
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(message);
    expect(found[0]?.key).toContain('gatehouse_schema.');
  });

  test('a relative lock_path from the environment layer is an error', () => {
    const found = parse('[gatehouse_schema]\nlock_path = "x.json"\n', {
      kind: 'env',
      name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64',
    }).diagnostics;
    expect(found[0]?.message).toMatch(/no directory to be relative to/);
  });

  test('an unknown key warns with a suggestion', () => {
    const w = parse('[gatehouse_schema]\non_drfit = "warn"\n').diagnostics;
    expect(w[0]?.severity).toBe('warning');
    expect(w[0]?.hint).toContain('on_drift');
  });
});
