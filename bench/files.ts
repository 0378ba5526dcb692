// File transfer bench: tus upload and download throughput of a Parley process on loopback, beside
// a plain streamed copy of the same bytes on the same disk in the same run (the disk's limit), as a
// ratio (each transfer by a client process of its own, bench/files-client.ts); and the server's peak RSS (VmHWM) while it takes a 1 GiB upload (target: under 200 MB).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { FilesClientJob } from './files-client.js';
import { api, benchFile, cpuSeconds, fixed, makeTempDir, memoryMiB, removeTempDir, say, spawnServer, startParleyProcess } from './lib.js';

export interface FilesBenchOptions {
  /** Size of the uploaded file, MiB (1024: the 1 GiB memory check). */
  sizeMiB: number;
  /** tus PATCH size, MiB. */
  chunkMiB: number;
  /** Each transfer runs this many times, interleaved; the medians are reported. */
  rounds: number;
}

const MiB = 1024 * 1024;

/** Writes `size` random bytes to `file` in 4 MiB blocks (memory stays flat). */
async function writeRandomFile(file: string, size: number): Promise<void> {
  const handle = await open(file, 'w');
  try {
    const block = randomBytes(4 * MiB);
    for (let written = 0; written < size; written += block.length) {
      // A fresh head per block keeps the content from repeating every 4 MiB.
      randomBytes(64).copy(block);
      await handle.write(block, 0, Math.min(block.length, size - written));
    }
  } finally {
    await handle.close();
  }
}

/** Plain streamed copy with the same 1 MiB buffers the server reads and writes with. */
async function streamCopy(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from, { highWaterMark: MiB }), createWriteStream(to, { highWaterMark: MiB }));
}

/** Runs one transfer in a fresh client process (bench/files-client.ts); its own timing excludes the process start. */
async function clientTransfer(job: FilesClientJob): Promise<{ ms: number; fileId?: string }> {
  const { stdout } = await execFileAsync(process.execPath, [benchFile('files-client.js'), JSON.stringify(job)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { ms: number; fileId?: string };
}

const execFileAsync = promisify(execFile);
const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

/** Paths of the files under `dir` (recursively) that are exactly `size` bytes long. */
function filesOfSize(dir: string, size: number): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => {
      const stats = statSync(file);
      return stats.isFile() && stats.size === size;
    });
}

/** Writes dirty pages back to disk, so each timed phase starts from the same page-cache state. */
function flushDirtyPages(): void {
  execFileSync('sync');
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;

export async function benchFiles(options: FilesBenchOptions): Promise<boolean> {
  const size = options.sizeMiB * MiB;
  const rounds = options.rounds;
  const work = makeTempDir('parley-bench-files-');
  const serverDir = path.join(work, 'server');
  const bareDir = path.join(work, 'bare');
  const source = path.join(work, 'source.bin');
  const target = path.join(work, 'target.bin');
  mkdirSync(serverDir);
  mkdirSync(bareDir);
  const server = await startParleyProcess(serverDir, { UPLOAD_MAX_BYTES: String(size * 2), UPLOAD_QUOTA_BYTES: String(size * (rounds + 2)) }, 'files');
  // The same bytes through a bare Node HTTP server (PUT, GET): what loopback HTTP costs here.
  const bare = await spawnServer({ script: benchFile('files-bare-server.js'), env: { DATA_DIR: bareDir }, cwd: bareDir, readyText: 'bare file server listening' });
  try {
    say(`  ${options.sizeMiB} MiB of random bytes, tus PATCHes of ${options.chunkMiB} MiB over loopback HTTP, ${rounds} rounds (medians), server pid ${server.pid}\n`);
    await writeRandomFile(source, size);
    // Every timed write starts by freeing the 1 GiB written before it at the same place (the copy
    // and the GETs truncate `target`, the bare PUT its own file; before a tus upload the bench
    // deletes the previous one), so each lands in just-freed page cache. On this VM that matters
    // more than the disk: the balloon driver hands freed memory back to the host within seconds,
    // and a write into memory the guest must fault in anew ran at ~400 MiB/s where one into
    // just-freed pages ran at ~4,800 MiB/s. Without this, a transfer's rate followed what ran before it.
    const spare = path.join(work, 'spare.bin');
    for (const file of [target, spare, path.join(bareDir, 'bare.bin')]) await streamCopy(source, file);
    let freedBeforeUpload = spare;
    const token = (await api<{ accessToken: string }>(server.url, 'POST', '/auth/register', { username: 'filebench', password: 'bench password 1234' })).accessToken;
    const { rss: idleRss, hwm: idleHwm } = memoryMiB(server.pid);

    const rates = {
      copy: [] as number[],
      upload: [] as number[],
      download: [] as number[],
      downloadDiscard: [] as number[],
      bareUp: [] as number[],
      bareDown: [] as number[],
      bareDownDiscard: [] as number[],
    };
    type Transfer = keyof typeof rates;
    /** The same transfers timed until their bytes are on the disk (the trailing `sync` included). */
    const onDisk: Partial<Record<Transfer, number[]>> = {};
    /** Server CPU seconds (user + system) per GiB moved: unlike MiB/s, it does not move with the disk. */
    const cpu: Record<string, number[]> = {};
    /**
     * Runs one transfer with no dirty pages left and records its rate, MiB/s, twice: when the last
     * byte was written (to the page cache), and once `sync` has put every byte on the disk. With
     * `server`, also records the CPU that process spent on it.
     */
    const measure = async (name: Transfer, transfer: () => Promise<number>, server?: { pid: number; kind: string }): Promise<void> => {
      flushDirtyPages();
      const cpuBefore = server ? cpuSeconds(server.pid) : 0;
      const ms = await transfer();
      if (server) cpu[server.kind] = [...(cpu[server.kind] ?? []), (cpuSeconds(server.pid) - cpuBefore) / (size / (1024 * MiB))];
      const syncStarted = performance.now();
      flushDirtyPages();
      rates[name].push(mbps(size, ms));
      onDisk[name] = [...(onDisk[name] ?? []), mbps(size, ms + performance.now() - syncStarted)];
      if (existsSync(target) && statSync(target).size !== size) throw new Error(`a transfer wrote ${statSync(target).size} of ${size} bytes`);
    };
    let afterUpload = { rss: 0, hwm: 0 };
    for (let round = 0; round < rounds; round++) {
      await measure('copy', async () => {
        const started = performance.now();
        await streamCopy(source, target);
        return performance.now() - started;
      });
      let fileId = '';
      const storedBefore = new Set(filesOfSize(serverDir, size));
      rmSync(freedBeforeUpload);
      await measure(
        'upload',
        async () => {
          const upload = await clientTransfer({ kind: 'tus-upload', baseUrl: server.url, token, file: source, size, chunk: options.chunkMiB * MiB });
          fileId = upload.fileId ?? '';
          return upload.ms;
        },
        { pid: server.pid, kind: 'upload' },
      );
      if (round === 0) afterUpload = memoryMiB(server.pid);
      const stored = filesOfSize(serverDir, size).filter((file) => !storedBefore.has(file));
      if (stored.length !== 1) throw new Error(`expected the upload as one new file of ${size} bytes, found ${stored.length}`);
      freedBeforeUpload = stored[0] as string;
      const download = { kind: 'get', url: `${server.url}/api/v1/files/${fileId}/content`, headers: { authorization: `Bearer ${token}` }, file: target } as const;
      const parley = { pid: server.pid, kind: 'download' };
      await measure('download', async () => (await clientTransfer(download)).ms, parley);
      await measure('downloadDiscard', async () => (await clientTransfer({ ...download, file: '/dev/null' })).ms, parley);
      await measure('bareUp', async () => (await clientTransfer({ kind: 'put', url: `${bare.url}/x`, file: source, size })).ms, { pid: bare.pid, kind: 'bareUp' });
      await measure('bareDown', async () => (await clientTransfer({ kind: 'get', url: `${bare.url}/x`, headers: {}, file: target })).ms, { pid: bare.pid, kind: 'bareDown' });
      await measure('bareDownDiscard', async () => (await clientTransfer({ kind: 'get', url: `${bare.url}/x`, headers: {}, file: '/dev/null' })).ms, {
        pid: bare.pid,
        kind: 'bareDown',
      });
    }
    const peak = memoryMiB(server.pid).hwm;

    const copyRate = median(rates.copy);
    const uploadRate = median(rates.upload);
    const downloadRate = median(rates.download);
    const bareUpRate = median(rates.bareUp);
    const bareDownRate = median(rates.bareDown);
    const discardRate = median(rates.downloadDiscard);
    const bareDiscardRate = median(rates.bareDownDiscard);
    const pairedShare = (values: number[]) => fixed(median(values.map((value, round) => (value / (rates.copy[round] as number)) * 100)));
    const diskRate = (name: Transfer) => fixed(median(onDisk[name] ?? [NaN]), 0);
    const diskShare = (name: Transfer) => fixed((median(onDisk[name] ?? [NaN]) / median(onDisk.copy ?? [NaN])) * 100);
    const cpuPerGiB = (kind: string) => `${fixed(median(cpu[kind] ?? [NaN]), 2)} (${(cpu[kind] ?? []).map((value) => fixed(value, 2)).join(', ')})`;
    const all = (values: number[]) => `(${values.map((value) => fixed(value, 0)).join(', ')})`;
    say(
      `  plain copy        ${fixed(copyRate, 0).padStart(6)} MiB/s  ${all(rates.copy)}\n` +
        `  bare HTTP PUT     ${fixed(bareUpRate, 0).padStart(6)} MiB/s  = ${fixed((bareUpRate / copyRate) * 100)} % of the copy ${all(rates.bareUp)} (reference: loopback HTTP to disk, no Parley)\n` +
        `  bare HTTP GET     ${fixed(bareDownRate, 0).padStart(6)} MiB/s  = ${fixed((bareDownRate / copyRate) * 100)} % of the copy ${all(rates.bareDown)}\n` +
        `  bare GET, discard ${fixed(bareDiscardRate, 0).padStart(6)} MiB/s  = ${fixed((bareDiscardRate / copyRate) * 100)} % of the copy ${all(rates.bareDownDiscard)}\n` +
        `  tus upload        ${fixed(uploadRate, 0).padStart(6)} MiB/s  = ${fixed((uploadRate / copyRate) * 100)} % of the copy ${all(rates.upload)} (includes sniffing and the SHA-256)\n` +
        `  download          ${fixed(downloadRate, 0).padStart(6)} MiB/s  = ${fixed((downloadRate / copyRate) * 100)} % of the copy ${all(rates.download)} (the client writes to the same disk)\n` +
        `  download, discard ${fixed(discardRate, 0).padStart(6)} MiB/s  = ${fixed((discardRate / copyRate) * 100)} % of the copy ${all(rates.downloadDiscard)} (the client drops the bytes, as one on another machine leaves this disk alone)\n` +
        `  Parley / bare HTTP: upload ${fixed((uploadRate / bareUpRate) * 100)} %, download ${fixed((downloadRate / bareDownRate) * 100)} %, download discarding ${fixed((discardRate / bareDiscardRate) * 100)} %\n` +
        `  server CPU per GiB (median, user + system): Parley upload ${cpuPerGiB('upload')} s, download ${cpuPerGiB('download')} s; bare PUT ${cpuPerGiB('bareUp')} s, bare GET ${cpuPerGiB('bareDown')} s\n` +
        `  until on disk (the transfer, then \`sync\`): copy ${diskRate('copy')} MiB/s ${all(onDisk.copy ?? [])}; ` +
        `tus upload ${diskRate('upload')} MiB/s = ${diskShare('upload')} % of the copy ${all(onDisk.upload ?? [])}; ` +
        `download ${diskRate('download')} MiB/s = ${diskShare('download')} % ${all(onDisk.download ?? [])}; ` +
        `bare GET ${diskRate('bareDown')} MiB/s = ${diskShare('bareDown')} %\n` +
        `  paired by round (each transfer over the copy of its own round, so the disk's drift through the run cancels), median: ` +
        `upload ${pairedShare(rates.upload)} %, download ${pairedShare(rates.download)} %, bare GET ${pairedShare(rates.bareDown)} %\n` +
        `  target: at least 70 % of the copy each way\n` +
        `  server RSS: ${fixed(idleRss, 0)} MiB idle (peak so far ${fixed(idleHwm, 0)} MiB: start-up and an argon2id registration), ` +
        `${fixed(afterUpload.rss, 0)} MiB after the first upload (peak so far ${fixed(afterUpload.hwm, 0)} MiB); peak (VmHWM) ${fixed(peak, 0)} MiB over the whole run ` +
        `(${peak < 200 ? 'under' : 'OVER'} the 200 MB limit)\n`,
    );
    return peak < 200;
  } finally {
    await bare.stop();
    await server.stop();
    removeTempDir(work);
  }
}
