export { createNotificationsRepository, type NotificationsRepository } from './notifications.repository.js';
export { notificationsRoutes } from './notifications.routes.js';
/**
 * `isNotifying(message, recipientId)` is the one definition of what alerts a user (desktop
 * notifications through `chat`'s `notify`, Web Push): see its doc comment in the service.
 */
export { createNotificationsService, type NotificationsService, type NotifyingMessage } from './notifications.service.js';
