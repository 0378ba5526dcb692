import type { Socket } from 'socket.io';
import { CallActionPayload, CallRequestPayload, IceCandidatePayload, SdpPayload } from '../../contract/calls.js';
import type { Logger } from '../../platform/logger.js';
import { onEvent, type SocketData, trackWork } from '../../platform/realtime/handlers.js';
import type { CallsService } from './calls.service.js';

/**
 * Call events on a socket. The socket that places or accepts a call is that party's device: only
 * it exchanges offers, answers and candidates. When it disconnects the reconnect grace starts; a
 * socket of the same session that connects in time takes the call over.
 */
export function callsSocket(calls: CallsService, log: Logger) {
  return (socket: Socket): void => {
    const { actor } = socket.data as SocketData;
    const device = () => ({ socketId: socket.id, sessionId: (socket.data as SocketData).actor.sessionId });
    const joined = calls.socketConnected(actor, socket.id).catch((error: unknown) => log.warn({ err: error, userId: actor.userId }, 'call resume on connect failed'));
    socket.on('disconnect', () => {
      trackWork(
        socket,
        joined
          .then(() => calls.socketDisconnected((socket.data as SocketData).actor, socket.id))
          .catch((error: unknown) => log.warn({ err: error, userId: actor.userId }, 'call disconnect handling failed')),
      );
    });

    onEvent(socket, 'call_request', CallRequestPayload, log, (payload, ctx) => calls.request(ctx.actor, device(), payload));
    onEvent(socket, 'call_accept', CallActionPayload, log, (payload, ctx) => calls.accept(ctx.actor, device(), payload.callId));
    onEvent(socket, 'call_reject', CallActionPayload, log, (payload, ctx) => calls.reject(ctx.actor, payload.callId, payload.reason));
    onEvent(socket, 'call_cancel', CallActionPayload, log, (payload, ctx) => calls.cancel(ctx.actor, payload.callId, payload.reason));
    onEvent(socket, 'call_hangup', CallActionPayload, log, (payload, ctx) => calls.hangup(ctx.actor, payload.callId, payload.reason));
    onEvent(socket, 'webrtc_offer', SdpPayload, log, async (payload, ctx) => {
      await calls.relay(ctx.actor, socket.id, payload.callId, 'webrtc_offer', { sdp: payload.sdp });
      return null;
    });
    onEvent(socket, 'webrtc_answer', SdpPayload, log, async (payload, ctx) => {
      await calls.relay(ctx.actor, socket.id, payload.callId, 'webrtc_answer', { sdp: payload.sdp });
      return null;
    });
    onEvent(socket, 'ice_candidate', IceCandidatePayload, log, async (payload, ctx) => {
      await calls.relay(ctx.actor, socket.id, payload.callId, 'ice_candidate', { candidate: payload.candidate });
      return null;
    });
  };
}
