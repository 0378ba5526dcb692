export { contentDisposition, sanitizeFilename } from './files.names.js';
export { createFilesRepository, type FilesRepository } from './files.repository.js';
export { filesRoutes } from './files.routes.js';
export { createFilesService, type FilesService } from './files.service.js';
export { createFileStorage, type FileStorage } from './files.storage.js';
export { createTusServer, tusRoutes, UPLOADS_PATH } from './files.tus.js';
