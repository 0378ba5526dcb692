export { type AiAssistant, ASSISTANT_USER_ID, createAssistant } from './ai.assistant.js';
export { createLlmProvider, LlmError, type LlmProvider } from './ai.providers.js';
export { type AiRepository, createAiRepository } from './ai.repository.js';
export { aiRoutes } from './ai.routes.js';
export { type AiService, createAiService, UNAVAILABLE_MESSAGE } from './ai.service.js';
export { aiSocket } from './ai.socket.js';
