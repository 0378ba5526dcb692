// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export { CallListQuery, CallPage, CallParams, CallRecord, IceServer, IceServers } from '../../contract/calls.js';
