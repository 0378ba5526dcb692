import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import { CallListQuery, CallPage, CallParams, CallRecord, IceServers } from './calls.schemas.js';
import type { CallsService } from './calls.service.js';

export function callsRoutes(calls: CallsService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    const tags = ['calls'];
    const security = bearer;

    app.get(
      '/calls/ice-servers',
      {
        schema: {
          tags,
          security,
          summary: 'STUN and TURN servers for RTCPeerConnection; TURN credentials (coturn use-auth-secret scheme) expire after `ttl` seconds',
          response: responses({ 200: IceServers }, [401]),
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        return calls.iceServers(actorOf(request));
      },
    );
    app.get(
      '/calls',
      { schema: { tags, security, summary: "The caller's call history, newest first", querystring: CallListQuery, response: responses({ 200: CallPage }, [401]) } },
      async (request) => calls.history(actorOf(request), request.query.cursor, request.query.limit ?? 50),
    );
    app.get(
      '/calls/:id',
      { schema: { tags, security, summary: 'One call of the caller', params: CallParams, response: responses({ 200: CallRecord }, [401, 404]) } },
      async (request) => calls.get(actorOf(request), request.params.id),
    );
  };
}
