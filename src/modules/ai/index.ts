export { ASSISTANT_USER_ID, type AiAssistant, createAssistant } from './ai.assistant.js';
export { createLlmProvider, type LlmProvider, LlmError } from './ai.providers.js';
export { createAiRepository, type AiRepository } from './ai.repository.js';
export { aiRoutes } from './ai.routes.js';
export { type AiService, createAiService, UNAVAILABLE_MESSAGE } from './ai.service.js';
export { aiSocket } from './ai.socket.js';
