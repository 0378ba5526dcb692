import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { Nickname, User, Username } from './users.js';

/** What a bot token may do (docs/webhooks.md, Bots). */
export const BOT_ACTIONS = ['messages:read', 'messages:write', 'members:read'] as const;
export const BotAction = Type.Union([Type.Literal('messages:read'), Type.Literal('messages:write'), Type.Literal('members:read')], {
  description: 'messages:read (history, live messages), messages:write (send, typing), members:read (member lists, profiles)',
});
export type BotAction = Static<typeof BotAction>;

/** A conversation id as the API shows them (`g.<groupId>` for groups, `d.<a>.<b>` for private chats). */
export const ConversationId = Type.String({ minLength: 1, maxLength: 80 });

/** A bot account as its owner sees it. */
export const Bot = Type.Object({
  user: User,
  ownerId: Type.String(),
  createdAt: IsoTime,
});
export type Bot = Static<typeof Bot>;
export const BotPage = Page(Bot);
export const BotListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

export const CreateBotBody = Type.Object({ username: Username, nickname: Type.Optional(Nickname) }, { additionalProperties: false });
export type CreateBotBody = Static<typeof CreateBotBody>;

export const BotScope = Type.Object(
  {
    /** Conversations the token reaches; the bot must also be a member of each. */
    conversationIds: Type.Array(ConversationId, { minItems: 1, maxItems: 100 }),
    actions: Type.Array(BotAction, { minItems: 1, maxItems: BOT_ACTIONS.length }),
  },
  { additionalProperties: false },
);
export type BotScope = Static<typeof BotScope>;

export const CreateBotTokenBody = Type.Object({ scopes: BotScope }, { additionalProperties: false });
export type CreateBotTokenBody = Static<typeof CreateBotTokenBody>;

/** A bot token without its secret. */
export const BotToken = Type.Object({
  id: Type.String(),
  botId: Type.String(),
  scopes: BotScope,
  createdAt: IsoTime,
  revokedAt: Type.Union([IsoTime, Type.Null()]),
});
export type BotToken = Static<typeof BotToken>;
export const BotTokenPage = Page(BotToken);

/** The answer to creating a token: the only time `token` is shown. */
export const CreatedBotToken = Type.Object({ ...BotToken.properties, token: Type.String({ description: 'pbt_…; send as Authorization: Bearer, or as the socket auth token' }) });
export type CreatedBotToken = Static<typeof CreatedBotToken>;

export const BotParams = Type.Object({ id: Id }, { additionalProperties: false });
export const BotTokenParams = Type.Object({ id: Id, tokenId: Id }, { additionalProperties: false });

/** Events an outgoing webhook may subscribe to (docs/webhooks.md). */
export const WEBHOOK_EVENTS = ['message.created', 'member.changed', 'bot.mentioned'] as const;
export const WebhookEvent = Type.Union([Type.Literal('message.created'), Type.Literal('member.changed'), Type.Literal('bot.mentioned')]);
export type WebhookEvent = Static<typeof WebhookEvent>;

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048, description: 'http(s) URL receiving POSTs; private and loopback addresses are refused unless OUTBOUND_ALLOW_PRIVATE=true' }),
    events: Type.Array(WebhookEvent, { minItems: 1, maxItems: WEBHOOK_EVENTS.length }),
    conversationIds: Type.Array(ConversationId, { minItems: 1, maxItems: 100 }),
    /** Subscribe for a bot the caller owns (needed for `bot.mentioned`); the bot must be in the conversations. */
    botId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(WebhookEvent),
  conversationIds: Type.Array(Type.String()),
  botId: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoTime,
});
export type Webhook = Static<typeof Webhook>;
export const WebhookPage = Page(Webhook);
export const WebhookListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

/** The answer to creating a webhook: the only time `secret` is shown. */
export const CreatedWebhook = Type.Object({ ...Webhook.properties, secret: Type.String({ description: 'HMAC-SHA256 key of Parley-Signature' }) });
export type CreatedWebhook = Static<typeof CreatedWebhook>;

export const WebhookParams = Type.Object({ id: Id }, { additionalProperties: false });
export const DeliveryParams = Type.Object({ id: Id, deliveryId: Id }, { additionalProperties: false });

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')]);

/** One event for one subscription, as the delivery log shows it. */
export const WebhookDelivery = Type.Object({
  /** Also the receiver's idempotency key (Parley-Webhook-Id). */
  id: Type.String(),
  webhookId: Type.String(),
  event: WebhookEvent,
  status: DeliveryStatus,
  attempts: Type.Integer(),
  /** HTTP status of the last attempt; null when it got no response. */
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([IsoTime, Type.Null()]),
  createdAt: IsoTime,
  deliveredAt: Type.Union([IsoTime, Type.Null()]),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;
export const WebhookDeliveryPage = Page(WebhookDelivery);
export const DeliveryListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

export const CreateIncomingWebhookBody = Type.Object({ nickname: Type.Optional(Nickname) }, { additionalProperties: false });
export type CreateIncomingWebhookBody = Static<typeof CreateIncomingWebhookBody>;

export const IncomingWebhook = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  /** The bot user whose messages the hook posts. */
  bot: User,
  createdAt: IsoTime,
  revokedAt: Type.Union([IsoTime, Type.Null()]),
});
export type IncomingWebhook = Static<typeof IncomingWebhook>;
export const IncomingWebhookPage = Page(IncomingWebhook);

/** The answer to creating an incoming webhook: the only time its secret path is shown. */
export const CreatedIncomingWebhook = Type.Object({ ...IncomingWebhook.properties, url: Type.String({ description: 'the secret path, e.g. /api/v1/hooks/<token>' }) });
export type CreatedIncomingWebhook = Static<typeof CreatedIncomingWebhook>;

export const ConversationHookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false });
export const IncomingHookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }), hookId: Id }, { additionalProperties: false });
export const HookTokenParams = Type.Object({ token: Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });

export const IncomingHookBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false });
export type IncomingHookBody = Static<typeof IncomingHookBody>;
