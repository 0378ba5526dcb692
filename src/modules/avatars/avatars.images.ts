import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../../shared/errors.js';
import { imageDecodeSlot } from '../../shared/limiter.js';
import { loadSharp } from '../../shared/sharp.js';
import type { AvatarSize } from './avatars.names.js';

/**
 * Decoded images larger than this are refused before any pixel is decoded: a tiny, highly
 * compressed file (a "decompression bomb") can claim billions of pixels and exhaust memory.
 */
export const MAX_INPUT_PIXELS = 40_000_000;

/** Formats accepted as avatars: the MIME type sniffed from the bytes → sharp's name for its decoder. */
const ACCEPTED = new Map<string, string>([
  ['image/jpeg', 'jpeg'],
  ['image/png', 'png'],
  ['image/apng', 'png'], // an animated PNG is a PNG; its first frame is used
  ['image/webp', 'webp'],
  ['image/gif', 'gif'],
]);

const ACCEPTED_NAMES = 'JPEG, PNG, WebP or GIF';

const unsupported = (message: string) => new AppError('UNSUPPORTED_MEDIA_TYPE', message);

function decodeFailure(error: unknown): AppError {
  const message = error instanceof Error ? error.message : '';
  if (/pixel limit/i.test(message)) return tooManyPixels();
  return unsupported('the image could not be decoded (corrupt or truncated)');
}

function tooManyPixels(width?: number, height?: number): AppError {
  const size = width && height ? ` (${width}×${height})` : '';
  return new AppError('PAYLOAD_TOO_LARGE', `the image has too many pixels${size}; at most ${MAX_INPUT_PIXELS / 1_000_000} megapixels are accepted`);
}

/**
 * Checks that `input` really is a JPEG, PNG, WebP or GIF (by its bytes, never by a file name or a
 * declared type) and renders it as square WebP images of each size: cropped to cover, centred,
 * turned upright by its EXIF orientation, first frame only, and with all metadata (EXIF, XMP, ICC,
 * comments) dropped. Throws UNSUPPORTED_MEDIA_TYPE or PAYLOAD_TOO_LARGE.
 */
export async function renderAvatar(input: Buffer, sizes: readonly AvatarSize[]): Promise<Array<{ size: AvatarSize; bytes: Buffer }>> {
  const sniffed = await fileTypeFromBuffer(input);
  const sharp = await loadSharp();
  const decoder = sniffed ? ACCEPTED.get(sniffed.mime) : undefined;
  if (!decoder) throw unsupported(`an avatar must be a ${ACCEPTED_NAMES} image${sniffed ? `, not ${sniffed.mime}` : ''}`);

  // The header alone (no pixel is decoded) tells the dimensions, for a refusal that names them.
  const meta = await sharp(input, { limitInputPixels: false, pages: 1 })
    .metadata()
    .catch((error: unknown) => {
      throw decodeFailure(error);
    });
  // libvips picks its decoder from the bytes too; it must be the one the sniffed type names.
  if (meta.format !== decoder) throw unsupported(`an avatar must be a ${ACCEPTED_NAMES} image`);
  const height = meta.pageHeight ?? meta.height;
  if (!meta.width || !height) throw unsupported('the image has no pixels');
  if (meta.width * height > MAX_INPUT_PIXELS) throw tooManyPixels(meta.width, height);

  return imageDecodeSlot(() => {
    // limitInputPixels: a second guard against bombs. failOn 'error': a corrupt or truncated image is
    // refused instead of rendered half grey. pages 1: the first frame of an animation. autoOrient:
    // apply the EXIF orientation before the EXIF goes. sharp drops metadata unless asked to keep it.
    const image = sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1, autoOrient: true });
    return Promise.all(
      sizes.map(async (size) => {
        const bytes = await image
          .clone()
          .resize(size, size, { fit: 'cover', position: 'centre' })
          .webp({ quality: 82 })
          .toBuffer()
          .catch((error: unknown) => {
            throw decodeFailure(error);
          });
        return { size, bytes };
      }),
    );
  });
}
