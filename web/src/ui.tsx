/** Small pieces every page uses; apart from app.tsx so pages need not import the shell that imports them. */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { showError } from './errors.js';
import { language, setLanguage, t } from './i18n.js';
import { update } from './state/state.js';

/** Initials or the avatar picture; `status` adds a presence dot. */
export function Avatar(props: { name: string; url?: string | null; status?: 'online' | 'away' | 'offline' | undefined; size?: number }) {
  const size = props.size ?? 40;
  return (
    <span class="avatar" style={{ width: `${size}px`, height: `${size}px`, fontSize: `${size * 0.42}px` }} aria-hidden="true">
      {props.url ? <img src={props.url} alt="" width={size} height={size} /> : [...props.name][0]?.toUpperCase()}
      {props.status && <span class={`dot ${props.status}`} data-status={props.status} />}
    </span>
  );
}

export function LanguageSwitch() {
  const lang = language();
  return (
    <label class="lang">
      <span class="sr-only">{t('language')}</span>
      <select
        value={lang}
        onChange={(event) => {
          setLanguage((event.currentTarget as HTMLSelectElement).value === 'zh' ? 'zh' : 'en');
          update({});
        }}
      >
        <option value="en">English</option>
        <option value="zh">简体中文</option>
      </select>
    </label>
  );
}

/** Runs an async action with a busy flag; failures show in the toast. */
export function useAction() {
  const [pending, setPending] = useState(0);
  // Actions may overlap (change a role, then mute at once); forms disable their submit button while busy.
  const run = async (action: () => Promise<unknown>) => {
    setPending((n) => n + 1);
    try {
      await action();
    } catch (error) {
      showError(error);
    } finally {
      setPending((n) => n - 1);
    }
  };
  return { busy: pending > 0, run };
}

/** What a destructive action asks before it runs: the question, what follows from it, and the button that does it. */
export interface Confirmation {
  question: string;
  detail?: string;
  confirmLabel: string;
  onConfirm: () => unknown;
}

/**
 * A modal `<dialog>` asking to confirm a destructive action (not `window.confirm`, which is untranslated,
 * unstyled and blocks the page). The browser's modal dialog traps focus and closes on Esc; Cancel comes
 * first, so it has the focus and a stray Enter does nothing harmful.
 */
export function ConfirmDialog({ confirmation, onClose }: { confirmation: Confirmation; onClose: () => void }) {
  const detailId = useId();
  return (
    <Modal class="confirm" title={confirmation.question} describedBy={confirmation.detail ? detailId : undefined} onClose={onClose}>
      {confirmation.detail && <p id={detailId}>{confirmation.detail}</p>}
      <div class="confirm-actions">
        <button type="button" onClick={onClose}>
          {t('cancel')}
        </button>
        <button
          type="button"
          class="danger-fill"
          onClick={() => {
            onClose();
            void confirmation.onConfirm();
          }}
        >
          {confirmation.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}

/**
 * A modal `<dialog>` titled by its heading: opened when mounted, closed when unmounted, and Esc
 * asks the owner to close it (`onClose`) rather than closing it behind the page's back.
 */
export function Modal(props: { class: string; title: string; describedBy?: string | undefined; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.class}
      aria-labelledby={titleId}
      aria-describedby={props.describedBy}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** `confirm(…)` opens a ConfirmDialog; render `dialog` somewhere in the component. */
export function useConfirm() {
  const [pending, setPending] = useState<Confirmation | null>(null);
  const dialog = pending && <ConfirmDialog confirmation={pending} onClose={() => setPending(null)} />;
  return { confirm: setPending, dialog };
}
