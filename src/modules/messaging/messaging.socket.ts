import type { Socket } from 'socket.io';
import { ReadPayload, SendMessage, SyncPayload, TypingPayload } from '../../contract/events.js';
import type { Logger } from '../../platform/logger.js';
import { onEvent } from '../../platform/realtime/handlers.js';
import type { MessagingService } from './messaging.service.js';

/** chat, typing, read and sync over the socket (the gateway has already joined its group rooms). */
export function messagingSocket(messaging: MessagingService, log: Logger) {
  return (socket: Socket): void => {
    onEvent(socket, 'chat', SendMessage, log, (payload, ctx) => messaging.send(ctx.actor, payload, { socketId: socket.id }));
    onEvent(socket, 'typing', TypingPayload, log, async (payload, ctx) => {
      await messaging.typing(ctx.actor, payload.conversationId, payload.typing);
      return null;
    });
    onEvent(socket, 'read', ReadPayload, log, async (payload, ctx) => {
      await messaging.markRead(ctx.actor, payload.conversationId, payload.messageId, { socketId: socket.id });
      return null;
    });
    onEvent(socket, 'sync', SyncPayload, log, (payload, ctx) => messaging.sync(ctx.actor, payload.since, payload.limit));
  };
}
