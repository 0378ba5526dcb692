import { spawn } from 'node:child_process';
import { imageDecodeSlot, videoDecodeSlot } from '../../shared/limiter.js';
import { loadSharp } from '../../shared/sharp.js';

/** Same bound as avatars: a tiny file claiming more pixels than this is a decompression bomb. */
export const MAX_INPUT_PIXELS = 40_000_000;
/** Thumbnails fit in this square, as WebP. */
const THUMBNAIL_EDGE = 320;
/** A poster frame that takes longer than this is given up (a hostile or huge video). */
const FFMPEG_TIMEOUT_MS = 20_000;

export interface Preview {
  width: number;
  height: number;
  /** WebP bytes, or null when no thumbnail could be made safely. */
  thumbnail: Buffer | null;
}

/**
 * Width, height and a thumbnail of an image (a path or bytes). The header is read first without
 * decoding pixels: a decompression bomb gets its size reported and no thumbnail. Undefined when
 * the bytes are not a decodable image.
 */
export async function imagePreview(input: string | Buffer): Promise<Preview | undefined> {
  const sharp = await loadSharp();
  const meta = await sharp(input, { limitInputPixels: false, pages: 1 })
    .metadata()
    .catch(() => undefined);
  const height = meta?.pageHeight ?? meta?.height;
  if (!meta?.width || !height) return undefined;
  // EXIF orientations 5–8 turn the image a quarter: report what a viewer shows.
  const turned = (meta.orientation ?? 1) >= 5;
  const shown = turned ? { width: height, height: meta.width } : { width: meta.width, height };
  if (meta.width * height > MAX_INPUT_PIXELS) return { ...shown, thumbnail: null };
  const thumbnail = await imageDecodeSlot(() =>
    sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1, autoOrient: true })
      .resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toBuffer()
      .catch(() => null),
  );
  return { ...shown, thumbnail };
}

let ffmpegMissing = false;

/** The first frame of a video as PNG bytes, via `ffmpeg` when it is installed; null otherwise. */
function posterFrame(file: string): Promise<Buffer | null> {
  if (ffmpegMissing) return Promise.resolve(null);
  return videoDecodeSlot(() => runFfmpeg(file));
}

function runFfmpeg(file: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    // `-protocol_whitelist file`: an uploaded playlist or reference file must not make ffmpeg
    // open network URLs (SSRF) or other protocols; only the local file is read.
    const child = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-protocol_whitelist', 'file', '-i', file, '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // One decoded frame as PNG stays far below this; more means something is wrong.
      if (bytes > 64 * 1024 * 1024) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') ffmpegMissing = true;
      resolve(null);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && chunks.length > 0 ? Buffer.concat(chunks) : null);
    });
  });
}

/** Width, height and a poster-frame thumbnail of a video; undefined without ffmpeg or for undecodable video. */
export async function videoPreview(file: string): Promise<Preview | undefined> {
  const frame = await posterFrame(file);
  return frame ? imagePreview(frame) : undefined;
}
