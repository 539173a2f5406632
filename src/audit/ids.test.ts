import fc from 'fast-check';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { timeOrderedId } from './ids.js';
import type * as Ids from './ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit Unix milliseconds at the front of a UUIDv7. */
function msOf(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** A fresh copy of the module: its last-millisecond state starts over. */
async function freshIds(): Promise<typeof Ids> {
  vi.resetModules();
  return import('./ids.js');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('timeOrderedId (UUIDv7)', () => {
  test('is a UUIDv7: version 7, variant 10', () => {
    for (let i = 0; i < 1000; i++) {
      const id = timeOrderedId();
      expect(id).toMatch(V7);
      const bytes = Buffer.from(id.replaceAll('-', ''), 'hex');
      expect(bytes[6]! >> 4).toBe(7);
      expect(bytes[8]! >> 6).toBe(0b10);
    }
  });

  test('its millisecond prefix is the clock at creation', () => {
    const before = Date.now();
    const id = timeOrderedId();
    const after = Date.now();
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
  });

  test('100,000 ids in a row: all different, millisecond prefixes never decrease', () => {
    const ids = Array.from({ length: 100_000 }, () => timeOrderedId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      // The first 13 characters hold the whole timestamp: string order is time order.
      if (ids[i]!.slice(0, 13) < ids[i - 1]!.slice(0, 13)) {
        throw new Error(`id ${i} (${ids[i]}) sorts before id ${i - 1} (${ids[i - 1]})`);
      }
    }
    // Many share a millisecond here; their random parts still make them sort apart.
    expect(new Set(ids.map((id) => id.slice(0, 13))).size).toBeLessThan(ids.length);
  });

  test('a clock that steps back does not take ids back with it', async () => {
    const { timeOrderedId: next } = await freshIds();
    const now = vi.spyOn(Date, 'now');
    now.mockReturnValue(1_700_000_000_000);
    const first = next();
    now.mockReturnValue(1_699_999_990_000); // NTP stepped the clock back 10 s
    const second = next();
    now.mockReturnValue(1_700_000_000_001);
    const third = next();
    expect(msOf(first)).toBe(1_700_000_000_000);
    expect(msOf(second)).toBe(1_700_000_000_000);
    expect(msOf(third)).toBe(1_700_000_000_001);
    expect(first.slice(0, 13) <= second.slice(0, 13)).toBe(true);
    expect(second.slice(0, 13) < third.slice(0, 13)).toBe(true);
  });

  test('property: for any clock readings, the prefix is the latest reading so far', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { minLength: 1, maxLength: 50 }),
        async (readings) => {
          const { timeOrderedId: next } = await freshIds();
          const now = vi.spyOn(Date, 'now');
          let latest = 0;
          let previous = '';
          for (const reading of readings) {
            now.mockReturnValue(reading);
            latest = Math.max(latest, reading);
            const id = next();
            expect(id).toMatch(V7);
            expect(msOf(id)).toBe(latest);
            expect(id.slice(0, 13) >= previous).toBe(true);
            previous = id.slice(0, 13);
          }
          now.mockRestore();
        },
      ),
      { numRuns: 100 },
    );
  });
});
