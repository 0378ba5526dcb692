// The send path without sockets (scenario "send"): Parley's own cost per stored message, that is
// the service, the checks and the SQLite group commit, called in-process the way the socket
// handler calls it. The fan-out figures on a shared 2-core VM swing by tens of percent from minute
// to minute. This scenario prints CPU per message, which follows the machine's speed too, and the
// young-generation GC pauses per 1,000 messages, which move when Parley's code does: they price
// the objects that outlive a turn of the event loop (an object spread in the writer once tripled them).
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { fixed, makeTempDir, mapLimit, removeTempDir, say, startInProcessParley, thousands } from './lib.js';

export interface SendPathOptions {
  /** Senders, split into groups of 20 like the fan-out scenario. */
  users: number;
  /** Messages sent in one turn of the event loop (one group commit). */
  perTurn: number;
  turns: number;
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

export async function benchSendPath(options: SendPathOptions): Promise<boolean> {
  const dataDir = makeTempDir('parley-bench-send-');
  const app = await startInProcessParley(dataDir, { SEND_RATE_LIMIT_MAX: '1000000000' });
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

    const gc = watchGc();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let index = 0; index < options.turns; index++) await turn();
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    // Entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const tally = gc.stop();

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
    return true;
  } finally {
    await app.close();
    removeTempDir(dataDir);
  }
}
