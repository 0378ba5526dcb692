import Type from 'typebox';
import { NotificationSettings, NotificationSettingsBody } from '../../contract/conversations.js';
import { bearer, responses } from '../../platform/http/route-helpers.js';
import type { HttpApp } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/server.js';
import type { NotificationsService } from './notifications.service.js';

const ConversationParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });

/** The caller's notification setting per conversation. */
export function notificationsRoutes(notifications: NotificationsService) {
  return async (app: HttpApp) => {
    app.addHook('preValidation', app.authenticate);
    app.put(
      '/conversations/:id/notifications',
      {
        schema: {
          tags: ['conversations'],
          security: bearer,
          summary: "Set what alerts the caller in a conversation: 'all', 'mentions' or 'none', optionally until a time",
          params: ConversationParams,
          body: NotificationSettingsBody,
          response: responses({ 200: NotificationSettings }, [400, 401, 404]),
        },
      },
      async (request) => notifications.set(actorOf(request), request.params.id, request.body),
    );
  };
}
