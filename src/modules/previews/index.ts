export { isHtml, parsePage } from './previews.parse.js';
export { createPreviewsRepository, type PreviewsRepository } from './previews.repository.js';
export { createPreviewsService, type PreviewOutcome, type PreviewsService, type PreviewTarget } from './previews.service.js';
