import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type AddressPolicy, publicOnly, publicOrPrivate, type Resolver } from '../../platform/outbound/index.js';
import { AppError } from '../../shared/errors.js';

export interface EndpointRules {
  /** `OUTBOUND_ALLOW_PRIVATE`: loopback and private networks allowed, and plain http with them (tests, private deployments). */
  allowPrivate: boolean;
  resolve?: Resolver;
  addressAllowed?: AddressPolicy;
}

/**
 * Checks a push endpoint when it is subscribed, with the outbound address rules: https (http only
 * with OUTBOUND_ALLOW_PRIVATE), no credentials, and a host whose every address may be reached. A
 * refused endpoint is a VALIDATION error now instead of a silent failure at each send. The send
 * itself goes through the guarded fetcher, which checks again at connect time: a name that
 * resolves elsewhere later (DNS rebinding) still gets nowhere.
 */
export function createEndpointCheck(rules: EndpointRules): (endpoint: string) => Promise<void> {
  const resolve: Resolver = rules.resolve ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  const allowed = rules.addressAllowed ?? (rules.allowPrivate ? publicOrPrivate : publicOnly);
  const refuse = (message: string): never => {
    throw AppError.validation('endpoint', message);
  };
  return async (endpoint) => {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return refuse('is not a URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && rules.allowPrivate)) refuse('must be an https URL');
    if (url.username !== '' || url.password !== '') refuse('must not carry credentials');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const literal = isIP(host);
    const addresses = literal ? [{ address: host }] : await resolve(host).catch(() => []);
    if (addresses.length === 0) refuse('has a host name that does not resolve');
    if (addresses.some(({ address }) => !allowed(address))) refuse('points at an address the server may not reach');
  };
}
