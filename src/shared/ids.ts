import { v7 as uuidv7 } from 'uuid';

/** Opaque, time-ordered, unguessable id for users, sessions and other records clients see. */
export function newId(): string {
  return uuidv7();
}
