/** The route is the address bar's path, kept in the state so pages render from it. */
import { conversationIdOfRoute } from './reducers.js';
import { getState, update } from './state.js';

export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  update({ route: path });
}

/** Takes the page's path and follows the back and forward buttons; called once by `init()`. */
export function startRouter(): void {
  update({ route: location.pathname });
  addEventListener('popstate', () => update({ route: location.pathname }));
}

/** The conversation on screen, if any (its messages are read as they arrive). */
export const openConversationId = (): string | null => conversationIdOfRoute(getState().route);
