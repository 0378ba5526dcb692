import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromFile } from 'file-type';

/**
 * Where file bytes live under UPLOAD_DIR. Keys are made by the server only (`tus/<uuid>`,
 * `thumbs/<uuid>.webp`) and checked against that shape before they come near a path.
 */
export const TUS_FOLDER = 'tus';
const KEY = /^(?:tus\/[0-9a-f-]{36}|thumbs\/[0-9a-f-]{36}\.webp)$/;
export const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const uploadKey = (uploadId: string) => `${TUS_FOLDER}/${uploadId}`;
export const thumbnailKey = (fileId: string) => `thumbs/${fileId}.webp`;

export interface FileStorage {
  /** The folder tus writes uploads to (`<dir>/tus`). */
  readonly tusDir: string;
  pathOf(key: string): string;
  open(key: string, range?: { start: number; end: number }): ReadStream;
  write(key: string, bytes: Buffer): Promise<void>;
  /** Removes the bytes (and a tus upload's `.json` info file); missing ones are fine. */
  remove(key: string): Promise<void>;
  size(key: string): Promise<number | null>;
  /** SHA-256 of the stored bytes, read as a stream (memory stays flat for any size). */
  sha256(key: string): Promise<string>;
  /** The type named by the bytes' magic numbers, or undefined when unknown (text, HTML, …). */
  sniff(key: string): Promise<{ mime: string; ext: string } | undefined>;
}

export function createFileStorage(dir: string): FileStorage {
  const pathOf = (key: string) => {
    if (!KEY.test(key)) throw new Error(`not a storage key: ${JSON.stringify(key)}`);
    return path.join(dir, key);
  };
  return {
    tusDir: path.join(dir, TUS_FOLDER),
    pathOf,
    open: (key, range) => createReadStream(pathOf(key), range ? { start: range.start, end: range.end, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 }),
    async write(key, bytes) {
      const target = pathOf(key);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, bytes);
    },
    async remove(key) {
      const target = pathOf(key);
      await rm(target, { force: true });
      if (key.startsWith(`${TUS_FOLDER}/`)) await rm(`${target}.json`, { force: true });
    },
    async size(key) {
      try {
        return (await stat(pathOf(key))).size;
      } catch {
        return null;
      }
    },
    async sha256(key) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(pathOf(key), { highWaterMark: 1 << 20 }), hash);
      return hash.digest('hex');
    },
    async sniff(key) {
      const found = await fileTypeFromFile(pathOf(key));
      return found ? { mime: found.mime, ext: found.ext } : undefined;
    },
  };
}
