import { Value } from 'typebox/value';
import { SystemEvent } from '../../contract/messages.js';

/**
 * How a `system` message is stored: its `content` column holds the group event as JSON
 * (`SystemEvent`), never words, so every client renders it in its reader's language.
 */
export function encodeSystemContent(event: SystemEvent): string {
  return JSON.stringify(event);
}

/** The group event a stored `system` message records, or null when its content is not one. */
export function decodeSystemContent(content: string): SystemEvent | null {
  try {
    const parsed: unknown = JSON.parse(content);
    return Value.Check(SystemEvent, parsed) ? parsed : null;
  } catch {
    return null;
  }
}
