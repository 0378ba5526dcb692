export { createAvatarsService, type AvatarsService } from './avatars.service.js';
export { createFileAvatarStore, type AvatarStore } from './avatars.storage.js';
export { avatarsRoutes, AVATARS_PATH } from './avatars.routes.js';
