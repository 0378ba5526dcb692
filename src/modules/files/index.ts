export { createFilesRepository, type FilesRepository } from './files.repository.js';
export { createFilesService, type FilesService } from './files.service.js';
export { createFileStorage, type FileStorage } from './files.storage.js';
export { filesRoutes } from './files.routes.js';
export { createTusServer, tusRoutes, UPLOADS_PATH } from './files.tus.js';
export { sanitizeFilename, contentDisposition } from './files.names.js';
