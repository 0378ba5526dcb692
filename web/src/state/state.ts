/**
 * The small observable store the pages render from. Its transitions are the pure functions in
 * `reducers.ts`; nothing here runs at import but creating the empty state.
 */
import { useEffect, useState } from 'preact/hooks';
import { initialState, type State } from './model.js';

let state: State = initialState();
const listeners = new Set<() => void>();

export const getState = (): State => state;

function notify(): void {
  for (const listener of listeners) listener();
}

export function update(patch: Partial<State> | ((current: State) => Partial<State>)): void {
  state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
  notify();
}

/** Runs a reducer on the current state; one that returns the state it was given changed nothing, so no one re-renders. */
export function apply(reducer: (current: State) => State): void {
  const next = reducer(state);
  if (next === state) return;
  state = next;
  notify();
}

/** Re-renders the calling component on every state change (the app is small enough). */
export function useStore(): State {
  const [, setTick] = useState(0);
  const rendered = state;
  useEffect(() => {
    const listener = () => setTick((tick) => tick + 1);
    listeners.add(listener);
    // Effects run after paint: catch a change made between this render and the subscription.
    if (state !== rendered) listener();
    return () => void listeners.delete(listener);
  }, []);
  return state;
}
