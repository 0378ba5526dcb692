import type { Socket } from 'socket.io';
import { SetStatusPayload } from '../../contract/events.js';
import type { Logger } from '../../platform/logger.js';
import { onEvent, type SocketData, trackWork } from '../../platform/realtime/handlers.js';
import type { PresenceService } from './presence.service.js';

/** Counts the socket as a device of its user, and lets the client choose online/away/invisible. */
export function presenceSocket(presence: PresenceService, log: Logger) {
  return (socket: Socket): void => {
    const { actor } = socket.data as SocketData;
    const counted = presence.connected(actor.userId, socket.id).catch((error: unknown) => log.warn({ err: error, userId: actor.userId }, 'presence connect failed'));
    socket.on('disconnect', () => {
      // After the connect is counted: a socket closed while that was still running would otherwise
      // be removed first and added after, staying "connected" (and the user online) for good.
      trackWork(
        socket,
        counted.then(() => presence.disconnected(actor.userId, socket.id)).catch((error: unknown) => log.warn({ err: error, userId: actor.userId }, 'presence disconnect failed')),
      );
    });
    onEvent(socket, 'user_status', SetStatusPayload, log, async ({ status }, { actor: caller }) => {
      await presence.setStatus(caller.userId, status);
      return { status };
    });
  };
}
