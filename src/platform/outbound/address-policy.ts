import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Decides whether an outbound connection may go to an IP address (v4 or v6, as text). */
export type AddressPolicy = (address: string) => boolean;

/**
 * The ranges a deployment on a private network may open with `OUTBOUND_ALLOW_PRIVATE=true`.
 * Link-local stays shut even then: 169.254.169.254 is the cloud metadata service, which hands out
 * the machine's credentials to whoever asks.
 */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'uniqueLocal', 'carrierGradeNat']);

/** IPv6 global unicast is 2000::/3; everything else in v6 is special or unassigned. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * What ipaddr.js calls the address's range, after unwrapping an IPv4-mapped IPv6 address
 * (::ffff:127.0.0.1 is 127.0.0.1 to the kernel). `unicast` means public; an IPv6 address outside
 * 2000::/3 (IPv4-compatible ::7f00:1, unassigned space) counts as `reserved`. Not an address: `invalid`.
 */
export function addressRange(address: string): string {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIP(text) === 0) return 'invalid';
  const parsed = ipaddr.process(text);
  const range = parsed.range();
  if (range === 'unicast' && parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return 'reserved';
  return range;
}

/** Public unicast only: refuses loopback, private, link-local (metadata), CGNAT, unique-local, multicast, reserved... */
export const publicOnly: AddressPolicy = (address) => addressRange(address) === 'unicast';

/** Public addresses plus loopback and private networks (`OUTBOUND_ALLOW_PRIVATE=true`); link-local and the rest stay refused. */
export const publicOrPrivate: AddressPolicy = (address) => {
  const range = addressRange(address);
  return range === 'unicast' || PRIVATE_RANGES.has(range);
};
