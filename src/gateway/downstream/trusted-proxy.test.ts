import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { cidrProblem, requestOrigin, trustedProxies } from './trusted-proxy.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const text = (a: number[]) => a.join('.');
const bits = (a: number[]) => a.reduce((n, b) => n * 256 + b, 0);

describe('trusted proxies', () => {
  test('property: an IPv4 peer is trusted exactly when its first PREFIX bits match the block', () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (block, peer, prefix) => {
        const proxies = trustedProxies([`${text(block)}/${prefix}`]);
        const shift = 2 ** (32 - prefix);
        const expected = Math.floor(bits(block) / shift) === Math.floor(bits(peer) / shift);
        expect(proxies.trusts(text(peer))).toBe(expected);
        expect(proxies.trusts(`::ffff:${text(peer)}`)).toBe(expected); // dual-stack sockets
      }),
    );
  });

  test('property: from an untrusted peer, forwarded headers never change what is checked', () => {
    const proxies = trustedProxies(['10.0.0.0/8']);
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (host, fwdHost, proto) => {
        const seen = requestOrigin(
          {
            host,
            'x-forwarded-host': fwdHost,
            'x-forwarded-proto': proto,
            'x-forwarded-for': '1.2.3.4',
          },
          '192.168.0.9',
          proxies,
          'http',
        );
        expect(seen).toEqual({
          host: host.toLowerCase(),
          proto: 'http',
          clientAddress: '192.168.0.9',
          viaProxy: false,
        });
      }),
    );
  });

  test('from a trusted peer: the first forwarded values count', () => {
    const seen = requestOrigin(
      {
        host: 'backend:80',
        'x-forwarded-host': 'GW.example.com, other',
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.7, 10.0.0.2',
      },
      '::ffff:10.0.0.2',
      trustedProxies(['10.0.0.0/8', '::1']),
      'http',
    );
    expect(seen).toEqual({
      host: 'gw.example.com',
      proto: 'https',
      clientAddress: '203.0.113.7',
      viaProxy: true,
    });
    expect(trustedProxies(['::1']).trusts('::1')).toBe(true);
    expect(trustedProxies([]).trusts('127.0.0.1')).toBe(false);
  });

  test.each([
    ['10.0.0.0/8', null],
    ['192.168.1.5', null],
    ['fd00::/8', null],
    ['10.0.0.0/33', "'10.0.0.0/33': the prefix length must be 0 to 32"],
    ['gw.example.com', expect.stringContaining('is not an IP address or CIDR block')],
    ['10.0.0.0/8/8', expect.stringContaining('is not an IP address or CIDR block')],
    ['10.0.0.0/x', expect.stringContaining('prefix length')],
  ])('entry %s', (entry, problem) => {
    expect(cidrProblem(entry)).toEqual(problem);
    if (problem) expect(() => trustedProxies([entry])).toThrow();
  });
});
