import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export { AdminReport, AdminReportPage, AdminReportsQuery, CreateReportBody, DismissReportBody, Report, ResolveReportBody } from '../../contract/reports.js';

export const ReportParams = Type.Object({ id: Id });
