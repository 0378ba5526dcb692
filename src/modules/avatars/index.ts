export { AVATARS_PATH, avatarsRoutes } from './avatars.routes.js';
export { type AvatarsService, createAvatarsService } from './avatars.service.js';
export { type AvatarStore, createFileAvatarStore } from './avatars.storage.js';
