/**
 * "Report" on a message (its menu) or a user (their profile page): a dialog with the reason and an
 * optional note, then a toast. The reported person is never told who reported them (docs/api.md, Reports).
 */
import { useId, useState } from 'preact/hooks';
import { showError } from './errors.js';
import { type StringKey, t } from './i18n.js';
import { api } from './state/client.js';
import { update } from './state/state.js';
import { Modal } from './ui.js';

/** Mirrors the contract's ReportReason (kept as plain strings: the first-load bundle has no TypeBox). */
export const REPORT_REASONS = ['spam', 'abuse', 'illegal', 'other'] as const;
export type Reason = (typeof REPORT_REASONS)[number];
export const REASON_TEXT: Record<Reason, StringKey> = { spam: 'reasonSpam', abuse: 'reasonAbuse', illegal: 'reasonIllegal', other: 'reasonOther' };
const NOTE_MAX = 1000;

export function ReportDialog({ target, onClose }: { target: { messageId: string } | { userId: string }; onClose: () => void }) {
  const [reason, setReason] = useState<Reason>('spam');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const noteId = useId();
  const submit = async () => {
    setBusy(true);
    try {
      await api.report({ target, reason, ...(note.trim() ? { note: note.trim() } : {}) });
      onClose();
      update({ toast: t('reportSent') });
    } catch (error) {
      showError(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal class="report-dialog" title={t('messageId' in target ? 'reportMessage' : 'reportUser')} onClose={onClose}>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <fieldset class="stack">
          <legend>{t('reportReason')}</legend>
          {REPORT_REASONS.map((value) => (
            <label class="row">
              <input type="radio" name="report-reason" value={value} checked={reason === value} onChange={() => setReason(value)} />
              {t(REASON_TEXT[value])}
            </label>
          ))}
        </fieldset>
        <label for={noteId}>{t('reportNote')}</label>
        <textarea id={noteId} name="report-note" maxLength={NOTE_MAX} rows={3} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        <p class="small muted">{t('reportPrivacy')}</p>
        <div class="confirm-actions">
          <button type="button" onClick={onClose}>
            {t('cancel')}
          </button>
          <button type="submit" class="danger-fill" disabled={busy}>
            {t('report')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
