export { type ContactAction, type ContactVerdict, createPolicy, type Policy } from './policy.service.js';
