import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAvatarFileName } from './avatars.names.js';

/** Where avatar files live; the service knows names, never paths. */
export interface AvatarStore {
  /** Stores the files together; a reader never sees a half-written file. */
  write(files: ReadonlyArray<{ name: string; bytes: Buffer }>): Promise<void>;
  /** The file's bytes, or null when there is no such file. */
  read(name: string): Promise<Buffer | null>;
  /** Removes the files; missing ones are fine. */
  remove(names: readonly string[]): Promise<void>;
  /** Removes every file of `userId` (names start with the user id), including any a race left behind. */
  removeAllOf(userId: string): Promise<void>;
}

const isNotFound = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** Refuses any name the server did not generate, before it comes near a path. */
function pathOf(dir: string, name: string): string {
  if (!isAvatarFileName(name)) throw new Error(`not an avatar file name: ${JSON.stringify(name)}`);
  return path.join(dir, name);
}

/** Avatars as files in one folder (`DATA_DIR/avatars`). */
export function createFileAvatarStore(dir: string): AvatarStore {
  let ready: Promise<unknown> | undefined;
  const ensureDir = () => (ready ??= mkdir(dir, { recursive: true }));

  return {
    async write(files) {
      await ensureDir();
      await Promise.all(
        files.map(async ({ name, bytes }) => {
          const target = pathOf(dir, name);
          // Write under a temporary name and rename: rename is atomic within one file system.
          const temporary = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
          try {
            await writeFile(temporary, bytes, { flag: 'wx' });
            await rename(temporary, target);
          } catch (error) {
            await rm(temporary, { force: true });
            throw error;
          }
        }),
      );
    },

    async read(name) {
      if (!isAvatarFileName(name)) return null;
      try {
        return await readFile(pathOf(dir, name));
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async remove(names) {
      await Promise.all(names.map((name) => rm(pathOf(dir, name), { force: true })));
    },

    async removeAllOf(userId) {
      const prefix = `${userId.toLowerCase()}-`;
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
      await Promise.all(names.filter((name) => name.startsWith(prefix) && isAvatarFileName(name)).map((name) => rm(pathOf(dir, name), { force: true })));
    },
  };
}
