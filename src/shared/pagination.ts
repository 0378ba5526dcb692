import { AppError } from './errors.js';

// The page's shape and limits are the contract's (the SDK shares them); the cursors are the server's.
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type Page } from '../contract/paging.js';

/** Cursors are opaque to clients: base64url of a JSON value the repository understands. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, isValid: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // fall through to undefined: a garbled cursor is reported by the caller
  }
  return undefined;
}

/** Where a page ordered by (time, id) stopped: the last row's time and id. */
export interface TimeIdPosition {
  at: number;
  id: string;
}

const isTimeId = (value: unknown): value is [number, string] => Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string';

/** Reads a (time, id) cursor; one this API did not hand out is VALIDATION_FAILED. */
export function decodeTimeIdCursor(cursor: string | undefined): TimeIdPosition | undefined {
  const value = decodeCursor(cursor, isTimeId);
  if (cursor && !value) throw AppError.validation('cursor', 'is not a cursor this list returned');
  return value ? { at: value[0], id: value[1] } : undefined;
}

export const encodeTimeIdCursor = (position: TimeIdPosition): string => encodeCursor([position.at, position.id]);

const isIdPosition = (value: unknown): value is { id: string } =>
  typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && Object.keys(value).length === 1;

/** Reads a cursor of a list ordered by id alone (the last row's id); one this API did not hand out is VALIDATION_FAILED. */
export function decodeIdCursor(cursor: string | undefined): string | undefined {
  const value = decodeCursor(cursor, isIdPosition);
  if (cursor && !value) throw AppError.validation('cursor', 'is not a cursor this list returned');
  return value?.id;
}

export const encodeIdCursor = (id: string): string => encodeCursor({ id });
