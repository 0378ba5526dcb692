import { PushDevice, PushDeviceList, PushSubscriptionBody, PushSubscriptionParams, VapidPublicKey } from '../../contract/push.js';
import { bearer, NoContent, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import type { PushService } from './push.service.js';

/** Web Push: the server's VAPID key, and the caller's subscribed devices. */
export function pushRoutes(push: PushService) {
  return async (app: HttpApp) => {
    const tags = ['push'];
    app.get(
      '/push/vapid-public-key',
      { schema: { tags, summary: 'The VAPID public key to subscribe with (applicationServerKey)', response: responses({ 200: VapidPublicKey }) } },
      async () => push.vapidPublicKey(),
    );
    const security = bearer;
    app.post(
      '/push/subscriptions',
      {
        preValidation: app.authenticate,
        schema: {
          tags,
          security,
          summary: "Subscribe this device to Web Push (upsert by endpoint; bound to the caller's session)",
          body: PushSubscriptionBody,
          response: responses({ 201: PushDevice }, [400, 401]),
        },
      },
      async (request, reply) => reply.status(201).send(await push.subscribe(actorOf(request), request.body)),
    );
    app.get(
      '/push/subscriptions',
      {
        preValidation: app.authenticate,
        schema: { tags, security, summary: "The caller's devices subscribed to Web Push", response: responses({ 200: PushDeviceList }, [401]) },
      },
      async (request) => ({ items: await push.list(actorOf(request)) }),
    );
    app.delete(
      '/push/subscriptions/:id',
      {
        preValidation: app.authenticate,
        schema: { tags, security, summary: "Unsubscribe one of the caller's devices", params: PushSubscriptionParams, response: responses({ 204: NoContent }, [401, 404]) },
      },
      async (request, reply) => {
        await push.unsubscribe(actorOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
