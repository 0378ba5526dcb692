/**
 * The signed-in session: `init()` wires the client, the router and the session's own socket event;
 * `boot()` resumes a stored session; sign-in, guest upgrade and sign-out.
 */
import type { Tokens } from '../../../src/client/index.js';
import { api, client, createClient } from './client.js';
import { connectSocket, onSocket } from './live.js';
import { loadContacts, loadConversations, rememberUsers } from './loaders.js';
import { sessionCleared } from './reducers.js';
import { navigate, startRouter } from './router.js';
import type { State } from './model.js';
import { apply, getState, update } from './state.js';

/** Everything the page needs before its first render; main.tsx calls it once. Nothing runs at import. */
export function init(): void {
  createClient(location.origin, sessionStorage, () => void signedOut());
  startRouter();
  onSocket((socket) => socket.on('session_revoked', () => void signedOut()));
}

/** Reads the server's optional features, then resumes the stored session or shows the sign-in page. */
export async function boot(): Promise<void> {
  void fetch('/web-config.json')
    .then((response) => (response.ok ? (response.json() as Promise<{ features: State['features'] }>) : { features: {} }))
    .then(
      ({ features }) => update({ features }),
      () => {},
    );
  if (!client.refreshToken) {
    update({ booting: false });
    if (!getState().route.startsWith('/login')) navigate('/login', true);
    return;
  }
  try {
    // Rotate at once: the stored access token may be long expired.
    await client.refreshOnce();
    await start();
  } catch {
    client.forget();
    update({ booting: false, me: null });
    navigate('/login', true);
  }
}

async function start(): Promise<void> {
  const me = await api.users.me();
  rememberUsers([me]);
  update({ me, booting: false });
  const { route } = getState();
  if (route === '/' || route === '/login') navigate('/chats', true);
  // Live first, then load: what changes once the socket is up arrives as an event, what changed
  // before is in the lists, so nothing (an invitation, a friend request) falls between the two.
  await connectSocket();
  await Promise.all([loadConversations(), loadContacts()]);
}

/** After register, login, guest or upgrade: keep the tokens, load the account and go live. */
export async function signedIn(tokens: Tokens): Promise<void> {
  client.keep(tokens);
  await start();
}

/** Upgrading ends every guest session (this one too): drop the socket first, reconnect with the new pair. */
export async function upgradeGuest(input: { username: string; password: string }): Promise<void> {
  client.disconnect();
  try {
    const result = await api.auth.upgrade(input);
    await signedIn(result);
  } catch (error) {
    await connectSocket().catch(() => {});
    throw error;
  }
}

export async function signedOut(): Promise<void> {
  client.disconnect();
  client.forget();
  apply(sessionCleared);
  navigate('/login', true);
}

export async function logout(): Promise<void> {
  await api.auth.logout().catch(() => {});
  await signedOut();
}
