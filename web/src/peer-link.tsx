/**
 * Links to a user's profile page: small and in the first load (the chat header and contact rows use
 * them), while the profile page itself (profile.tsx) loads when it is first opened.
 */
import type { ComponentChildren } from 'preact';
import { t } from './i18n.js';
import { navigate } from './state/router.js';

/** The path of a user's profile page. */
export const profilePath = (userId: string) => `/users/${encodeURIComponent(userId)}`;

/** A private chat's header (avatar, name, presence) as a link to the peer's profile; a group's stays plain. */
export function PeerLink({ peerId, name, children }: { peerId: string | undefined; name: string; children: ComponentChildren }) {
  if (!peerId) return <>{children}</>;
  return (
    <a
      class="peer-link"
      href={profilePath(peerId)}
      // A title, not an aria-label: the link's name must stay the text it shows (name and presence).
      title={t('viewProfile', { name })}
      onClick={(event) => {
        event.preventDefault();
        navigate(profilePath(peerId));
      }}
    >
      {children}
    </a>
  );
}
