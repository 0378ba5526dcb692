import type { Socket } from 'socket.io';
import { AiCancelPayload, AiChatPayload } from '../../contract/ai.js';
import type { Logger } from '../../platform/logger.js';
import { onEvent } from '../../platform/realtime/handlers.js';
import type { AiService } from './ai.service.js';

/** ai_chat (ack, then ai_chunk… ai_done/ai_error to the caller's devices) and ai_cancel. */
export function aiSocket(ai: AiService, log: Logger) {
  return (socket: Socket): void => {
    onEvent(socket, 'ai_chat', AiChatPayload, log, (payload, ctx) => ai.chat(ctx.actor, payload));
    onEvent(socket, 'ai_cancel', AiCancelPayload, log, (payload, ctx) => ai.cancel(ctx.actor, payload.requestId));
  };
}
