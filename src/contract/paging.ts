import Type, { type TSchema } from 'typebox';

/** `limit` when a list request gives none (docs/api.md, Paging). */
export const DEFAULT_PAGE_LIMIT = 50;
/** The largest `limit` a list accepts. */
export const MAX_PAGE_LIMIT = 200;

/** The query fields every list takes, spread into each list's query schema. */
export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 512, description: "the previous page's `nextCursor`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT })),
};

/** A page of a list (docs/api.md, Paging: `{items, nextCursor}`); `nextCursor` null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The response schema of a list route whose items are `item`; its Static type is `Page<Static<item>>`. */
export const Page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
