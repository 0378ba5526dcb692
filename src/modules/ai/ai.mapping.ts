/** Row-to-wire mapping for AI conversations and messages. */
import type { AiMessage } from '../../contract/ai.js';
import { isoOrNull as iso } from '../../shared/time.js';
import type { AiConversationRow, AiMessageRow } from './ai.repository.js';
import type { AiConversation } from './ai.schemas.js';

/** A stored AI message as clients see it. */
export function toAiMessage(row: AiMessageRow): AiMessage {
  const input = row.input_tokens === null ? null : Number(row.input_tokens);
  const output = row.output_tokens === null ? null : Number(row.output_tokens);
  return {
    id: String(row.id),
    conversationId: row.conversation_id,
    role: row.role as AiMessage['role'],
    content: row.content,
    status: row.status as AiMessage['status'],
    model: row.model,
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    usage: input === null || output === null ? null : { inputTokens: input, outputTokens: output, totalTokens: input + output, estimated: false },
    createdAt: iso(Number(row.created_at)) as string,
    completedAt: iso(row.completed_at),
  };
}

/** A stored AI conversation as clients see it. */
export function toConversation(row: AiConversationRow): AiConversation {
  return {
    id: row.id,
    title: row.title,
    model: row.model,
    systemPrompt: row.system_prompt,
    createdAt: iso(Number(row.created_at)) as string,
    updatedAt: iso(Number(row.updated_at)) as string,
  };
}

/** A conversation title from its first question: one line, at most 60 characters. */
export function titleFrom(content: string): string {
  const line = content.replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length > 60 ? `${chars.slice(0, 59).join('')}…` : line || 'New conversation';
}
