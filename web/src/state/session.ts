/**
 * The signed-in session: `init()` wires the client, the router, the session's own socket event and
 * the other tabs; `boot()` resumes the browser's session from its refresh cookie; sign-in, guest
 * upgrade and sign-out. One session per browser: every tab refreshes through the same httpOnly
 * cookie, and tabs tell each other over a BroadcastChannel when they sign in or out.
 */
import { type AuthResult, ParleyError } from '../../../src/client/index.js';
import { api, client, createClient } from './client.js';
import { connectSocket, onSocket } from './live.js';
import { loadContacts, loadConversations, rememberUsers } from './loaders.js';
import type { State } from './model.js';
import { sessionCleared } from './reducers.js';
import { navigate, startRouter } from './router.js';
import { apply, getState, update } from './state.js';

/**
 * Whether this browser signed in and has not signed out since: not a token, only a hint, so a first
 * visit shows the sign-in page without a refresh that could only fail (the cookie is unreadable here).
 * Where storage is unavailable the refresh is simply tried.
 */
const SESSION_HINT = 'parley.has-session';

function hasSessionHint(): boolean {
  try {
    return localStorage.getItem(SESSION_HINT) === '1';
  } catch {
    return true;
  }
}

function setSessionHint(on: boolean): void {
  try {
    if (on) localStorage.setItem(SESSION_HINT, '1');
    else localStorage.removeItem(SESSION_HINT);
  } catch {
    // Storage disabled: every load tries the cookie instead.
  }
}

/** What one tab tells the others of the browser. */
type TabMessage = { type: 'signed-in' } | { type: 'signed-out' };
let tabs: BroadcastChannel | undefined;

function tellTabs(message: TabMessage): void {
  tabs?.postMessage(message);
}

/** Everything the page needs before its first render; main.tsx calls it once. Nothing runs at import. */
export function init(): void {
  createClient(location.origin, () => void signedOut());
  startRouter();
  // The session ended (signed out in another tab, revoked from another device, or replaced by a guest
  // upgrade in another tab): the cookie decides whether this browser still has a session.
  onSocket((socket) => socket.on('session_revoked', () => void resume()));
  if (typeof BroadcastChannel !== 'undefined') {
    tabs = new BroadcastChannel('parley.session');
    tabs.onmessage = (event: MessageEvent<TabMessage>) => {
      const signedInHere = getState().me !== null;
      if (event.data.type === 'signed-out' && signedInHere) void signedOut();
      if (event.data.type === 'signed-in' && !signedInHere) void resume();
    };
  }
}

/** How long resume waits before trying again after the n-th failure that was not a refusal (1 s doubling, at most 30 s). */
const retryDelayMs = (failures: number) => Math.min(30_000, 1000 * 2 ** failures);

/**
 * Picks up the browser's session from the cookie, or shows the sign-in page when there is none.
 * Only a refusal (the cookie is spent, revoked or expired, the account suspended) ends the session here. Anything else,
 * an unreachable server, a dropped connection, a load aborted because the page is being left, says
 * nothing about the session: the hint and the cookie stay and the page tries again, showing
 * "Connecting…", so a bad network never signs anyone out.
 */
/** The server answered and said no (401 spent or revoked, 403 suspended...); a 429 or a 5xx is only "not now". */
function isRefusal(error: unknown): boolean {
  const status = error instanceof ParleyError ? error.status : undefined;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

async function resume(failures = 0): Promise<void> {
  client.disconnect();
  if (!hasSessionHint()) {
    await signedOut();
    update({ booting: false });
    return;
  }
  try {
    await client.refreshOnce();
    await start();
  } catch (error) {
    if (isRefusal(error)) {
      await signedOut();
      update({ booting: false });
      return;
    }
    if (!getState().me) update({ booting: true });
    setTimeout(() => void resume(failures + 1), retryDelayMs(failures));
  }
}

/** Reads the server's optional features, then resumes the stored session or shows the sign-in page. */
export async function boot(): Promise<void> {
  void fetch('/web-config.json')
    .then((response) => (response.ok ? (response.json() as Promise<{ features: State['features'] }>) : { features: {} }))
    .then(
      ({ features }) => update({ features }),
      () => {},
    );
  // No token is stored in the page: the httpOnly cookie, if this browser has one, is the session.
  await resume();
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

/** After register, login, guest or upgrade: keep the access token, load the account, go live, tell the other tabs. */
export async function signedIn(result: AuthResult): Promise<void> {
  client.keep(result);
  setSessionHint(true);
  await start();
  tellTabs({ type: 'signed-in' });
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
  setSessionHint(false);
  client.disconnect();
  client.forget();
  apply(sessionCleared);
  // An invite link opened while signed out keeps its address: once signed in, it shows the invitation.
  if (!getState().route.startsWith('/invite/')) navigate('/login', true);
}

/** Ends the browser's session (the answer clears the cookie) in this tab and every other. */
export async function logout(): Promise<void> {
  // Off the socket first, and the hint gone before the request: this tab's own session_revoked must
  // not start a resume, nor must another tab's (it would present the cookie being cleared).
  client.disconnect();
  setSessionHint(false);
  await api.auth.logout().catch(() => {});
  await signedOut();
  tellTabs({ type: 'signed-out' });
}
