export { createReportsRepository, type ReportsRepository } from './reports.repository.js';
export { reportsRoutes } from './reports.routes.js';
export { createReportsService, REPORT_LIMITS, type ReportsService } from './reports.service.js';
