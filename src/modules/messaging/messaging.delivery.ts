/**
 * Who gets a new message with `notify: false` (computed before the insert, so that nothing is
 * awaited between the insert and the delivery): everyone, or these users (members only).
 */
export type QuietAudience = { everyone: true } | { everyone: false; userIds: string[] };
