export { type AdminRepository, createAdminRepository } from './admin.repository.js';
export { adminRoutes } from './admin.routes.js';
export { type AdminService, createAdminService } from './admin.service.js';
