/**
 * Change password (`/me/password`): current, new, and the new one again. The server ends every
 * other session of the account; this one stays signed in, and the page says so.
 */

import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from './errors.js';
import { t } from './i18n.js';
import { api } from './state/client.js';
import { navigate } from './state/router.js';
import { useAction } from './ui.js';

export function PasswordPage() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const { busy, run } = useAction();
  const submit = (event: JSX.TargetedEvent<HTMLFormElement>) => {
    event.preventDefault();
    setDone(false);
    if (next !== again) return setProblem(t('passwordMismatch'));
    setProblem(null);
    void run(async () => {
      try {
        await api.auth.changePassword({ currentPassword: current, newPassword: next });
      } catch (error) {
        // Shown beside the form it is about, not in a toast that covers it.
        setProblem(errorText(error));
        return;
      }
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
    });
  };
  return (
    <section class="scroll" aria-label={t('changePassword')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/me')}>
          ‹
        </button>
        <h2>{t('changePassword')}</h2>
      </header>
      <div class="stack pad page-body">
        <form class="card stack" onSubmit={submit}>
          <label>
            {t('currentPassword')}
            <input type="password" name="current-password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
          </label>
          <label>
            {t('newPassword')}
            <input type="password" name="new-password" autoComplete="new-password" required minLength={8} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
          </label>
          <label>
            {t('confirmPassword')}
            <input type="password" name="confirm-password" autoComplete="new-password" required minLength={8} value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
          </label>
          {problem && (
            <p class="bad" role="alert">
              {problem}
            </p>
          )}
          {done && (
            <p class="good" role="status">
              {t('passwordChanged')}
            </p>
          )}
          <button class="primary" type="submit" disabled={busy}>
            {t('changePassword')}
          </button>
        </form>
      </div>
    </section>
  );
}
