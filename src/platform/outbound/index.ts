export { type AddressPolicy, addressRange, publicOnly, publicOrPrivate } from './address-policy.js';
export {
  createGuardedFetch,
  createOutboundUrlCheck,
  type GuardedFetch,
  type GuardedFetchOptions,
  OUTBOUND_USER_AGENT,
  OutboundError,
  type OutboundFailure,
  type OutboundRequest,
  type OutboundResponse,
  type Resolver,
} from './guarded-fetch.js';
