/**
 * Pages loaded on first use, so the first load carries only the chat list, the chat and contacts.
 * Hand-written rather than preact/compat's `lazy` and `Suspense`: compat would add more to the first
 * load than these few lines, and one loading line is all the fallback a page needs.
 */
import type { FunctionComponent, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { showError } from './errors.js';
import { t } from './i18n.js';

export function lazyPage<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | undefined;
  let loading: Promise<FunctionComponent<P>> | undefined;
  return function LazyPage(props: P): JSX.Element {
    const [Page, setPage] = useState(() => loaded);
    useEffect(() => {
      if (Page) return;
      let live = true;
      loading ??= load().then((component) => (loaded = component));
      loading.then(
        (component) => live && setPage(() => component),
        (error: unknown) => {
          // A failed chunk (a deploy replaced it, the network dropped) can be tried again on the next visit.
          loading = undefined;
          showError(error);
        },
      );
      return () => {
        live = false;
      };
    }, []);
    return Page ? <Page {...props} /> : <p class="center muted">{t('loading')}</p>;
  };
}
