/** Small pieces every page uses; apart from app.tsx so pages need not import the shell that imports them. */
import { useState } from 'preact/hooks';
import { language, setLanguage, t } from './i18n.js';
import { showError } from './state/client.js';
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
