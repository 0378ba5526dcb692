import { describe, expect, it } from 'vitest';
import { addressRange, publicOnly, publicOrPrivate } from '../../src/platform/outbound/index.js';

describe('outbound address policy', () => {
  it('lets public IPv4 and global IPv6 unicast addresses through', () => {
    for (const address of ['93.184.215.14', '1.1.1.1', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e']) {
      expect(publicOnly(address), address).toBe(true);
      expect(publicOrPrivate(address), address).toBe(true);
    }
  });

  it('refuses loopback, private, carrier-grade NAT, link-local (cloud metadata), unspecified, multicast, broadcast and reserved IPv4', () => {
    const cases: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '127.1.2.3': 'loopback',
      '10.0.0.1': 'private',
      '172.16.5.4': 'private',
      '192.168.1.1': 'private',
      '100.64.0.1': 'carrierGradeNat',
      '169.254.169.254': 'linkLocal',
      '0.0.0.0': 'unspecified',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'broadcast',
      '240.0.0.1': 'reserved',
    };
    for (const [address, range] of Object.entries(cases)) {
      expect(addressRange(address), address).toBe(range);
      expect(publicOnly(address), address).toBe(false);
    }
  });

  it('refuses IPv6 loopback, unique-local, link-local, multicast, NAT64 and 6to4 forms, and addresses outside 2000::/3', () => {
    for (const address of ['::1', '::', 'fd12:3456::1', 'fc00::1', 'fe80::1', 'ff02::1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1', '::7f00:1', '[::1]']) {
      expect(publicOnly(address), address).toBe(false);
    }
  });

  it('sees through IPv4-mapped IPv6 addresses', () => {
    expect(addressRange('::ffff:127.0.0.1')).toBe('loopback');
    expect(addressRange('::ffff:169.254.169.254')).toBe('linkLocal');
    expect(addressRange('::ffff:7f00:1')).toBe('loopback');
    expect(publicOnly('::ffff:10.1.2.3')).toBe(false);
    expect(publicOnly('::ffff:8.8.8.8')).toBe(true);
  });

  it('with private networks allowed, opens loopback and private ranges but never link-local (metadata) or the special ones', () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '192.168.0.10', '100.64.1.1', 'fd00::1', '::ffff:127.0.0.1']) expect(publicOrPrivate(address), address).toBe(true);
    for (const address of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', '0.0.0.0', '224.0.0.1', '255.255.255.255'])
      expect(publicOrPrivate(address), address).toBe(false);
  });

  it('refuses what is not an address at all', () => {
    expect(addressRange('localhost')).toBe('invalid');
    expect(publicOnly('example.com')).toBe(false);
    expect(publicOrPrivate('')).toBe(false);
  });
});
