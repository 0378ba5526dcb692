/**
 * Stored times are epoch milliseconds (MySQL may hand BIGINTs back as strings); the wire carries
 * ISO 8601. Every row-to-wire mapping converts through here.
 */
export function isoTime(ms: number | string): string {
  return new Date(Number(ms)).toISOString();
}

/** `isoTime` for optional times: null stays null. */
export function isoOrNull(ms: number | string | null): string | null {
  return ms === null ? null : isoTime(ms);
}
