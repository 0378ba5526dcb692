// The send path without sockets (scenario "send"): Parley's own cost per stored message, that is
// the service, the checks and the SQLite group commit, called in-process the way the socket
// handler calls it. The fan-out figures on a shared 2-core VM swing by tens of percent from minute
// to minute. This scenario prints CPU per message, which follows the machine's speed too, and the
// young-generation GC pauses per 1,000 messages, which move when Parley's code does: they price
// the objects that outlive a turn of the event loop (an object spread in the writer once tripled them).
import { randomBytes } from 'node:crypto';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { createScratchDatabase } from '../src/platform/db/scratch-database.js';
import { fixed, makeTempDir, mapLimit, removeTempDir, say, startInProcessParley, thousands } from './lib.js';
import { productionSetups } from './production.js';

export interface SendPathOptions {
  /** Senders, split into groups of 20 like the fan-out scenario. */
  users: number;
  /** Messages sent in one turn of the event loop (one group commit). */
  perTurn: number;
  turns: number;
  /** Server settings on top of the in-process defaults: DATABASE_URL and REDIS_URL for a production set-up. */
  serverEnv?: Record<string, string>;
}

/** What one run measured, for the ratios between set-ups. */
export interface SendPathResult {
  cpuMicrosPerMessage: number;
  messagesPerSec: number;
  /**
   * Database round trips per message: statements through Kysely (BEGIN and COMMIT included), and
   * the MySQL writer's transaction, sent as one multi-statement query, once. SQLite's group commit
   * bypasses Kysely and is not counted.
   */
  roundTripsPerMessage: number;
}

const METRICS_TOKEN = 'bench-send-path-metrics';

/** Queries sent to the database so far (one per round trip), from the process's own Prometheus endpoint. */
async function queriesSoFar(url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await response.text();
  let total = 0;
  for (const match of text.matchAll(/^parley_db_query_duration_seconds_count\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

interface GcTally {
  minor: number;
  minorMs: number;
  major: number;
  majorMs: number;
}

function watchGc(): { stop(): GcTally } {
  const tally: GcTally = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        tally.minor++;
        tally.minorMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        tally.major++;
        tally.majorMs += entry.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return tally;
    },
  };
}

export async function benchSendPath(options: SendPathOptions): Promise<SendPathResult> {
  const dataDir = makeTempDir('parley-bench-send-');
  const app = await startInProcessParley(dataDir, { SEND_RATE_LIMIT_MAX: '1000000000', METRICS_TOKEN, ...options.serverEnv });
  try {
    const { auth, groups, messaging } = app.services;
    const origin = { ip: '127.0.0.1', userAgent: 'parley-bench' };
    const registered = await mapLimit(
      Array.from({ length: options.users }, (_, i) => i),
      8,
      (i) => auth.register({ username: `send${i}`, password: 'correct horse battery staple' }, origin),
    );
    const actors = registered.map((result) => ({ userId: result.user.id, sessionId: 'bench', isGuest: false }));
    const conversations: string[] = [];
    for (let first = 0; first + 1 < actors.length; first += 20) {
      const members = actors.slice(first, first + 20);
      const owner = members[0] as (typeof actors)[number];
      const group = await groups.create(owner, { name: `send ${first / 20}`, memberIds: members.slice(1).map((actor) => actor.userId) });
      // Strangers are invited, not added: each accepts, as in the fan-out scenario.
      for (const invitation of group.invited) {
        const invitee = members.find((actor) => actor.userId === invitation.inviteeId) as (typeof actors)[number];
        await groups.invitations.accept(invitee, invitation.id);
      }
      conversations.push(group.conversationId);
    }
    const content = 'x'.repeat(180);
    let sent = 0;
    const turn = async () => {
      const sends: Array<Promise<unknown>> = [];
      for (let k = 0; k < options.perTurn; k++) {
        const sender = sent++ % actors.length;
        sends.push(
          messaging.send(actors[sender] as (typeof actors)[number], {
            conversationId: conversations[Math.floor(sender / 20)] as string,
            type: 'text',
            content: `${Date.now()} ${content}`,
            clientMsgId: `send-${sent}`,
          }),
        );
      }
      await Promise.all(sends);
      await new Promise((resolve) => setImmediate(resolve));
    };
    // Warm-up: the JIT and the statement caches, so the measured turns see the steady state.
    for (let index = 0; index < Math.min(200, options.turns); index++) await turn();

    const queriesBefore = await queriesSoFar(app.url);
    const gc = watchGc();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let index = 0; index < options.turns; index++) await turn();
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    // Entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const tally = gc.stop();
    // The scrape itself is not a statement: the histogram counts only queries through Kysely.
    const queries = (await queriesSoFar(app.url)) - queriesBefore;

    const messages = options.turns * options.perTurn;
    const perThousand = (value: number) => (value / messages) * 1000;
    say(
      `  ${thousands(messages)} messages by ${actors.length} users in ${conversations.length} groups, ${options.perTurn} per turn, in ${fixed(wallMs / 1000)} s (${thousands(messages / (wallMs / 1000))} msg/s on one thread)\n`,
    );
    say(`  CPU per message: ${fixed((cpu.user + cpu.system) / messages)} µs (GC helper threads included)\n`);
    say(
      `  young-generation GC: ${fixed(perThousand(tally.minor), 2)} pauses and ${fixed(perThousand(tally.minorMs), 2)} ms per 1,000 messages (${fixed(tally.minor ? tally.minorMs / tally.minor : 0, 2)} ms each)\n`,
    );
    say(`  full GC: ${tally.major} pauses, ${fixed(tally.majorMs)} ms in all\n`);
    const roundTripsPerMessage = queries / messages;
    say(`  database round trips per message (the MySQL writer's one-trip transaction counts once): ${fixed(roundTripsPerMessage, 2)}\n`);
    return { cpuMicrosPerMessage: (cpu.user + cpu.system) / messages, messagesPerSec: messages / (wallMs / 1000), roundTripsPerMessage };
  } finally {
    await app.close();
    removeTempDir(dataDir);
  }
}

/**
 * The send path on SQLite and then on each production set-up (bench/production.ts picks them), each
 * in a database of its own made for the run, with the ratios against SQLite measured in the same run.
 * A set-up whose database cannot be made is reported and skipped.
 */
export async function benchSendPathSetups(options: SendPathOptions & { productionTurns: number }): Promise<boolean> {
  say('  SQLite + memory:\n');
  const embedded = await benchSendPath(options);
  for (const setup of productionSetups()) {
    let database: Awaited<ReturnType<typeof createScratchDatabase>>;
    try {
      database = await createScratchDatabase(setup.databaseServerUrl, `parley_bench_send_${process.pid}_${randomBytes(3).toString('hex')}`);
    } catch (error) {
      say(`  ${setup.label}: cannot make a database (${error instanceof Error ? error.message : String(error)}); skipped\n`);
      continue;
    }
    try {
      say(`  ${setup.label}:\n`);
      const result = await benchSendPath({
        ...options,
        turns: options.productionTurns,
        serverEnv: { DATABASE_URL: database.url, REDIS_URL: setup.redisUrl, REDIS_KEY_PREFIX: `benchsend${randomBytes(3).toString('hex')}:` },
      });
      say(
        `  ${setup.label} against SQLite in this run: ${fixed(result.messagesPerSec / embedded.messagesPerSec, 2)}x the messages/s, ` +
          `${fixed(result.cpuMicrosPerMessage / embedded.cpuMicrosPerMessage, 2)}x the CPU per message\n`,
      );
    } finally {
      await database.drop().catch(() => {});
    }
  }
  return true;
}
