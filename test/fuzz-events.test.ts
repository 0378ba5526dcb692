import fc from 'fast-check';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, ParleySocket } from '../src/client/index.js';
import { CLIENT_EVENTS } from '../src/contract/events.js';
import { registeredEventSchemas } from '../src/platform/realtime/handlers.js';
import { apiClient } from './support/http.js';
import { type ConnectedUser, connectedUser } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Schema-driven complement to fuzz.test.ts (whose hand-written specs judge each field generously):
 * every client event of the contract is fuzzed from the payload schema the server itself registered
 * for it, so an event added later is covered without touching this file. Values are boundary
 * values derived from each property's schema (one past maxLength, minimum - 1, wrong literal…) and
 * random JSON; the oracle is the same compiled schema, so whatever it refuses must be answered
 * VALIDATION_FAILED, and the connection must stay up.
 */

const SEED = 20_251_126;
const RUNS_PER_EVENT = 150;

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
};

/** Values just outside what `schema` allows, plus values of the wrong type. */
function boundaryValues(schema: JsonSchema): unknown[] {
  const values: unknown[] = [null, {}, [], '', 0, true];
  if (schema.type === 'string') {
    if (schema.maxLength !== undefined) values.push('x'.repeat(schema.maxLength + 1), '😀'.repeat(schema.maxLength + 1));
    if (schema.minLength) values.push('x'.repeat(schema.minLength - 1));
    if (schema.pattern) values.push('!@#$ \u0000', '-1', '1.5');
    values.push(123, ['x']);
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    if (schema.minimum !== undefined) values.push(schema.minimum - 1);
    if (schema.maximum !== undefined) values.push(schema.maximum + 1);
    if (schema.type === 'integer') values.push(1.5);
    values.push('1', Number.MAX_SAFE_INTEGER * 4, -0.000001);
  }
  if (schema.type === 'boolean') values.push('true', 1);
  if (schema.type === 'array') {
    if (schema.maxItems !== undefined) values.push(Array.from({ length: schema.maxItems + 1 }, () => ({})));
    values.push('x', { 0: 'x' });
  }
  if (schema.type === 'object') values.push('x', [{}], 1);
  if (schema.anyOf || schema.const !== undefined || schema.enum) values.push('not-one-of-them', 'AUDIO', -1);
  return values;
}

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 50 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(100_000), '\ud800', '__proto__') },
);

function invalidPayloads(schema: JsonSchema, check: (value: unknown) => boolean): fc.Arbitrary<unknown> {
  const names = Object.keys(schema.properties ?? {});
  const field = (name: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...boundaryValues(schema.properties?.[name] ?? {})) }, { weight: 2, arbitrary: anyValue });
  const shaped =
    names.length === 0
      ? fc.dictionary(fc.string({ maxLength: 8 }), anyValue, { maxKeys: 4 })
      : fc.record(Object.fromEntries(names.map((name) => [name, field(name)])), { requiredKeys: [] }).chain((record) =>
          fc
            .option(
              fc.tuple(
                fc.string({ minLength: 1, maxLength: 10 }).filter((key) => !names.includes(key)),
                anyValue,
              ),
              { freq: 4 },
            )
            .map((extra) => (extra ? { ...record, [extra[0]]: extra[1] } : record)),
        );
  const notAnObject = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.array(anyValue, { maxLength: 4 }), fc.boolean());
  return fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 1, arbitrary: notAnObject }).filter((payload) => !check(payload));
}

function send(socket: ParleySocket, event: string, payload: unknown): Promise<Ack<unknown>> {
  return (socket.timeout(15_000) as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<Ack<unknown>> }).emitWithAck(event, payload);
}

describe(`schema-driven fuzzing of every client event (${storageLabel})`, () => {
  const suite = useTestServer();
  let fuzzer: ConnectedUser;
  const counts: Record<string, number> = {};

  beforeAll(async () => {
    fuzzer = await connectedUser(suite.server.url);
  });
  afterAll(() => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(
      `socket event fuzz: ${total} cases over ${Object.keys(counts).length} events\n  ${Object.entries(counts)
        .map(([event, n]) => `${event}: ${n}`)
        .join('\n  ')}`,
    );
    fuzzer?.client.disconnect();
  });

  it('has a registered payload schema for every client event of the contract', () => {
    const registered = registeredEventSchemas();
    for (const event of CLIENT_EVENTS) expect([...registered.keys()], `${event} has no schema-validated handler`).toContain(event);
  });

  for (const event of CLIENT_EVENTS) {
    it(`${event}: answers ${RUNS_PER_EVENT} schema-breaking payloads with VALIDATION_FAILED`, async () => {
      const schema = registeredEventSchemas().get(event) as TSchema;
      const validator = Compile(schema);
      const check = (value: unknown) => validator.Check(value);
      counts[event] = 0;
      await fc.assert(
        fc.asyncProperty(invalidPayloads(schema as unknown as JsonSchema, check), async (payload) => {
          counts[event] = (counts[event] ?? 0) + 1;
          const ack = await send(fuzzer.socket, event, payload);
          const shown = `${event} ${JSON.stringify(payload)?.slice(0, 200)} → ${JSON.stringify(ack).slice(0, 200)}`;
          expect(ack.ok, shown).toBe(false);
          if (!ack.ok) expect(ack.error.code, shown).toBe('VALIDATION_FAILED');
          expect(fuzzer.socket.connected).toBe(true);
        }),
        { seed: SEED, numRuns: RUNS_PER_EVENT, endOnFailure: true },
      );
      expect((await apiClient(suite.server.url)('GET', '/healthz')).status).toBe(200);
    });
  }
});
