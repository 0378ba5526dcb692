export { createReportsRepository, type ReportsRepository } from './reports.repository.js';
export { createReportsService, REPORT_LIMITS, type ReportsService } from './reports.service.js';
export { reportsRoutes } from './reports.routes.js';
