// Plain functions only, no schema library: the web client bundles this file.
import type { CallSummary } from './calls.js';

/** 3:12, or 1:02:03 past the hour. */
export function formatCallDuration(totalSec: number): string {
  const hours = Math.floor(totalSec / 3600);
  const minutes = Math.floor((totalSec % 3600) / 60);
  const ss = String(totalSec % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/**
 * The English `content` of a `call` message, for clients that do not render `call` themselves:
 * `video call 3:12`, `missed voice call`, `missed voice call (3)`, `declined video call`,
 * `cancelled voice call`, `video call, line busy`.
 */
export function callSummaryText(call: CallSummary): string {
  const kind = call.media === 'video' ? 'video call' : 'voice call';
  if (call.count > 1) return `missed ${kind} (${call.count})`;
  switch (call.state) {
    case 'ended':
      return `${kind} ${formatCallDuration(call.durationSec)}`;
    case 'missed':
      return `missed ${kind}`;
    case 'rejected':
      return `declined ${kind}`;
    case 'cancelled':
      return `cancelled ${kind}`;
    case 'busy':
      return `${kind}, line busy`;
  }
}
