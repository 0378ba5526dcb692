import type { Sharp, SharpOptions } from 'sharp';

type SharpFactory = (input: string | Buffer, options?: SharpOptions) => Sharp;

let loading: Promise<SharpFactory> | undefined;

/**
 * sharp, loaded on the first image that needs it. libvips adds about 15 MiB to a process's RSS,
 * which a server that never sees an image (or sees a 1 GiB upload, with its 200 MB budget) should
 * not carry from start-up.
 */
export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then((module) => module.default as SharpFactory);
  return loading;
}
