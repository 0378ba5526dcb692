import Type, { type Static } from 'typebox';
import { MAX_FORWARD_CONVERSATIONS, MAX_FORWARD_MESSAGES } from './forward-limits.js';
import { Message, MessageIdString } from './messages.js';
import { Page, PageQuery } from './paging.js';

export { MAX_FORWARD_CONVERSATIONS, MAX_FORWARD_MESSAGES };

/** Most messages pinned at once in one conversation; one more is PIN_LIMIT_REACHED. */
export const MAX_PINS_PER_CONVERSATION = 50;

/** Pinned messages of a conversation, most recently pinned first. */
export const PinnedQuery = Type.Object({ ...PageQuery });
export type PinnedQuery = Static<typeof PinnedQuery>;
export const PinnedPage = Page(Message);

/**
 * `POST /messages/forward`: copies `messageIds` (in the order they were sent) into each of
 * `conversationIds`. `clientMsgId` makes a retry return the messages already created.
 */
export const ForwardBody = Type.Object(
  {
    messageIds: Type.Array(MessageIdString, { minItems: 1, maxItems: MAX_FORWARD_MESSAGES, uniqueItems: true }),
    conversationIds: Type.Array(Type.String({ minLength: 1, maxLength: 80 }), { minItems: 1, maxItems: MAX_FORWARD_CONVERSATIONS, uniqueItems: true }),
    clientMsgId: Type.String({ minLength: 1, maxLength: 40 }),
  },
  { additionalProperties: false },
);
export type ForwardBody = Static<typeof ForwardBody>;

/** The messages a forward created, conversation by conversation in the order asked, each in send order. */
export const ForwardResult = Type.Object({ messages: Type.Array(Message) });
export type ForwardResult = Static<typeof ForwardResult>;
