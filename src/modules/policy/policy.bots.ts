import type { Actor } from '../../shared/actor.js';
import { AppError } from '../../shared/errors.js';

/**
 * What a bot token may reach (docs/webhooks.md, Bots). A bot uses the same REST routes and
 * socket events as a person, but only those below, only for the actions its token lists and
 * only in the conversations its token lists (it must also be a member of them, which the
 * services check as for anyone). Everything else is FORBIDDEN: a new route or event stays
 * closed to bots until it is added here.
 */
type BotScope = NonNullable<Actor['bot']>;
type Rule = { action: BotScope['actions'][number] | null; conversation?: (params: Record<string, unknown>) => string | undefined };

const byId = (params: Record<string, unknown>) => (typeof params.id === 'string' ? params.id : undefined);
const groupById = (params: Record<string, unknown>) => (typeof params.id === 'string' ? `g.${params.id}` : undefined);

const HTTP_RULES: Record<string, Rule> = {
  'GET /api/v1/users/me': { action: null },
  'GET /api/v1/users/:id': { action: 'members:read' },
  'GET /api/v1/conversations/:id': { action: 'messages:read', conversation: byId },
  'GET /api/v1/conversations/:id/messages': { action: 'messages:read', conversation: byId },
  'POST /api/v1/conversations/:id/messages': { action: 'messages:write', conversation: byId },
  'POST /api/v1/conversations/:id/read': { action: 'messages:read', conversation: byId },
  'GET /api/v1/groups/:id/members': { action: 'members:read', conversation: groupById },
};

const conversationOfPayload = (payload: unknown) =>
  typeof payload === 'object' && payload !== null && typeof (payload as { conversationId?: unknown }).conversationId === 'string'
    ? (payload as { conversationId: string }).conversationId
    : undefined;

const EVENT_RULES: Record<string, { action: BotScope['actions'][number] }> = {
  chat: { action: 'messages:write' },
  typing: { action: 'messages:write' },
  read: { action: 'messages:read' },
};

function check(scope: BotScope, action: Rule['action'], conversationId: string | undefined, needsConversation: boolean): void {
  if (action !== null && !scope.actions.includes(action)) throw new AppError('FORBIDDEN', `this bot token does not allow ${action}`);
  if (needsConversation && (conversationId === undefined || !scope.conversationIds.includes(conversationId)))
    throw new AppError('FORBIDDEN', 'this conversation is outside the bot token scope');
}

/** Throws FORBIDDEN unless a bot token with `scope` may call this route (`route` is the route's pattern). */
export function requireBotRoute(scope: BotScope, method: string, route: string, params: Record<string, unknown>): void {
  const rule = HTTP_RULES[`${method} ${route}`];
  if (!rule) throw new AppError('FORBIDDEN', 'a bot token cannot use this route');
  check(scope, rule.action, rule.conversation?.(params), rule.conversation !== undefined);
}

/** Throws FORBIDDEN unless a bot token with `scope` may send this socket event. */
export function requireBotEvent(scope: BotScope, event: string, payload: unknown): void {
  const rule = EVENT_RULES[event];
  if (!rule) throw new AppError('FORBIDDEN', 'a bot token cannot send this event');
  check(scope, rule.action, conversationOfPayload(payload), true);
}

/** The conversation rooms a bot socket joins: those of its scope, when it may read messages. */
export function botRooms(scope: BotScope, memberOf: readonly string[]): string[] {
  if (!scope.actions.includes('messages:read')) return [];
  const member = new Set(memberOf);
  return scope.conversationIds.filter((id) => member.has(id));
}
