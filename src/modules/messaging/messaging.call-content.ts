import { Value } from 'typebox/value';
import { type CallMedia, type CallOutcome, CallSummary } from '../../contract/calls.js';

/**
 * How a `call` message is stored: its `content` column holds the call as JSON (`CallSummary`), not
 * words, so every client renders it in its own language. The calls module writes it, the message
 * mapping reads it back into `Message.call`.
 */
export function encodeCallContent(call: CallSummary): string {
  return JSON.stringify(call);
}

/**
 * The call a stored `call` message describes, or null when it is neither form below. Rows written
 * before calls were stored as data hold the English summary the server wrote then (`missed voice
 * call (3)`): they are read by parsing it rather than rewritten by a migration, so a process of the
 * previous version still writing during a rolling upgrade, or a restored backup, reads the same.
 */
export function decodeCallContent(content: string, clientMsgId: string): CallSummary | null {
  if (content.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(content);
      return Value.Check(CallSummary, parsed) ? parsed : null;
    } catch {
      return null;
    }
  }
  return parseLegacyCallText(content, clientMsgId.startsWith('call:') ? clientMsgId.slice('call:'.length) : clientMsgId);
}

const LEGACY_TEXT: ReadonlyArray<[RegExp, CallOutcome]> = [
  [/^(voice|video) call (?:(\d+):)?(\d+):(\d\d)$/, 'ended'],
  [/^missed (voice|video) call(?: \((\d+)\))?$/, 'missed'],
  [/^declined (voice|video) call$/, 'rejected'],
  [/^cancelled (voice|video) call$/, 'cancelled'],
  [/^(voice|video) call, line busy$/, 'busy'],
];

/** The summaries the server wrote before (`video call 3:12`, `missed voice call (3)`, `declined video call`, ...). */
function parseLegacyCallText(content: string, callId: string): CallSummary | null {
  for (const [pattern, state] of LEGACY_TEXT) {
    const match = pattern.exec(content);
    if (!match) continue;
    const media: CallMedia = match[1] === 'video' ? 'video' : 'audio';
    if (state === 'ended') {
      const [hours, minutes, seconds] = [match[2], match[3], match[4]].map((part) => Number(part ?? 0)) as [number, number, number];
      return { callId, state, media, durationSec: hours * 3600 + minutes * 60 + seconds, count: 1 };
    }
    const count = state === 'missed' && match[2] ? Number(match[2]) : 1;
    return { callId, state, media, durationSec: 0, count };
  }
  return null;
}
