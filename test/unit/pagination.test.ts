import { describe, expect, it } from 'vitest';
import { closeObjects } from '../../src/platform/http/validation.js';
import { AppError } from '../../src/shared/errors.js';
import { decodeIdCursor, decodeTimeIdCursor, encodeCursor, encodeIdCursor, encodeTimeIdCursor } from '../../src/shared/pagination.js';

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('cursor encoding', () => {
  it('gives back the position a cursor was made from, in a URL-safe text', () => {
    const position = { at: 1_733_500_000_123, id: '01a24d26-e5ef-7095-9af8-c62d5aacbfe7' };
    const cursor = encodeTimeIdCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeTimeIdCursor(cursor)).toEqual(position);
    expect(decodeIdCursor(encodeIdCursor('abc'))).toBe('abc');
  });

  it('reads no cursor (absent or empty) as the first page', () => {
    expect(decodeTimeIdCursor(undefined)).toBeUndefined();
    expect(decodeTimeIdCursor('')).toBeUndefined();
    expect(decodeIdCursor(undefined)).toBeUndefined();
  });

  it('refuses garbage and cursors of another kind of list with VALIDATION_FAILED on `cursor`', () => {
    const foreign = [
      'not base64 at all!',
      encodeCursor('text'),
      encodeCursor([1.5, 'x']),
      encodeCursor({ id: 'x', extra: 1 }),
      encodeIdCursor('x'),
      Buffer.from('{"at":', 'utf8').toString('base64url'),
    ];
    for (const cursor of foreign) {
      const error = refusal(() => decodeTimeIdCursor(cursor));
      expect(error.code, cursor).toBe('VALIDATION_FAILED');
      expect(error.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
    }
    expect(refusal(() => decodeIdCursor(encodeTimeIdCursor({ at: 1, id: 'x' }))).code).toBe('VALIDATION_FAILED');
  });
});

describe('closed request schemas', () => {
  it('closes every object at every depth unless it says otherwise', () => {
    const schema = {
      type: 'object',
      properties: {
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } },
        choice: { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] },
        open: { type: 'object', additionalProperties: true },
        mapped: { type: 'object', patternProperties: { '^x': { type: 'string' } } },
        merged: {
          allOf: [
            { type: 'object', properties: { a: { type: 'string' } } },
            { type: 'object', properties: { b: { type: 'string' } } },
          ],
        },
      },
    };
    const closed = closeObjects(schema) as any;
    expect(closed.additionalProperties).toBe(false);
    expect(closed.properties.items.items.additionalProperties).toBe(false);
    expect(closed.properties.choice.anyOf[0].additionalProperties).toBe(false);
    expect(closed.properties.open.additionalProperties).toBe(true);
    expect(closed.properties.mapped.additionalProperties).toBeUndefined();
    // allOf branches stay open: closing one would refuse the other's properties.
    expect(closed.properties.merged.allOf.map((branch: any) => branch.additionalProperties)).toEqual([undefined, undefined]);
    // The route's own schema object (shared with responses and OpenAPI) is left as it was.
    expect((schema as any).additionalProperties).toBeUndefined();
    expect((schema.properties.items.items as any).additionalProperties).toBeUndefined();
  });
});
