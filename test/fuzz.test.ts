import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, ParleySocket } from '../src/client/index.js';
import { CLIENT_EVENTS } from '../src/contract/events.js';
import { apiClient } from './support/http.js';
import { barrier, type ConnectedUser, connectedUser, nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

/**
 * Every client event is sent payloads that break its contract (src/contract/events.ts) in every
 * way we can think of, plus a few hundred random ones per event (fast-check, fixed seed). Each must
 * be answered with VALIDATION_FAILED, and neither the socket nor the server may suffer for it.
 */

type ClientEvent = (typeof CLIENT_EVENTS)[number];

const SEED = 20_240_611;
const RUNS_PER_EVENT = 300;

// ---- what a valid field looks like, judged generously (any way of counting a string's length) ----

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Characters that can join code points into one grapheme cluster. */
const JOINERS = /[\p{M}\p{Cf}\p{Regional_Indicator}\p{Emoji_Modifier}\r\u1100-\u11ff]/u;
function lengths(value: string): number[] {
  const codePoints = [...value].length;
  // ICU's segmenter is slow on long strings; without joiners every code point is its own grapheme.
  if (value.length > 2000 && !JOINERS.test(value)) return [value.length, codePoints];
  let graphemes = 0;
  for (const _ of segmenter.segment(value)) graphemes++;
  return [value.length, codePoints, graphemes];
}
const isString = (min: number, max: number) => (value: unknown) => typeof value === 'string' && lengths(value).some((n) => n >= min && n <= max);
const isMessageId = (value: unknown) => isString(1, 20)(value) && /^[0-9]+$/.test(value as string);
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const MESSAGE_TYPES = ['text', 'emoji', 'image', 'file', 'audio', 'video', 'call', 'system'];

interface FieldSpec {
  required: boolean;
  /** True for anything the schema might accept: payloads are generated only from the rest. */
  valid(value: unknown): boolean;
}

interface EventSpec {
  /** A payload that passes the schema (what the mutations start from). */
  base(): Record<string, unknown>;
  fields: Record<string, FieldSpec>;
}

let conversationId = 'd.placeholder.x';

const SPECS: Record<ClientEvent, EventSpec> = {
  chat: {
    base: () => ({ conversationId, type: 'text', content: 'hello', clientMsgId: 'fuzz-base' }),
    fields: {
      conversationId: { required: true, valid: isString(1, 80) },
      type: { required: true, valid: (v) => typeof v === 'string' && MESSAGE_TYPES.includes(v) },
      content: { required: true, valid: isString(0, 20_000) },
      clientMsgId: { required: true, valid: isString(1, 64) },
      replyToId: { required: false, valid: isString(1, 20) },
      // Arrays are counted as valid (their items are not judged here): only non-arrays are generated.
      attachments: { required: false, valid: (v) => Array.isArray(v) && v.length <= 20 },
    },
  },
  typing: {
    base: () => ({ conversationId, typing: true }),
    fields: {
      conversationId: { required: true, valid: isString(1, 80) },
      typing: { required: true, valid: (v) => typeof v === 'boolean' },
    },
  },
  read: {
    base: () => ({ conversationId, messageId: '1' }),
    fields: {
      conversationId: { required: true, valid: isString(1, 80) },
      messageId: { required: true, valid: isMessageId },
    },
  },
  user_status: {
    base: () => ({ status: 'away' }),
    fields: { status: { required: true, valid: (v) => v === 'online' || v === 'away' || v === 'invisible' } },
  },
  sync: {
    base: () => ({ since: { [conversationId]: '0' } }),
    fields: {
      since: {
        required: true,
        valid: (v) => isPlainObject(v) && Object.keys(v).length <= 500 && Object.entries(v).every(([key, id]) => isString(0, 80)(key) && isMessageId(id)),
      },
      limit: { required: false, valid: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1000 },
    },
  },
  auth_refresh: {
    base: () => ({ token: 'not.a.jwt' }),
    fields: { token: { required: true, valid: isString(1, 4096) } },
  },
  call_request: {
    base: () => ({ toUserId: 'u1', media: 'audio' }),
    fields: {
      toUserId: { required: true, valid: isString(1, 36) },
      media: { required: true, valid: (v) => v === 'audio' || v === 'video' },
    },
  },
  call_accept: {
    base: () => ({ callId: 'c1' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, reason: { required: false, valid: isString(1, 64) } },
  },
  call_reject: {
    base: () => ({ callId: 'c1' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, reason: { required: false, valid: isString(1, 64) } },
  },
  call_cancel: {
    base: () => ({ callId: 'c1' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, reason: { required: false, valid: isString(1, 64) } },
  },
  call_hangup: {
    base: () => ({ callId: 'c1' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, reason: { required: false, valid: isString(1, 64) } },
  },
  webrtc_offer: {
    base: () => ({ callId: 'c1', sdp: 'v=0' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, sdp: { required: true, valid: isString(1, 65_536) } },
  },
  webrtc_answer: {
    base: () => ({ callId: 'c1', sdp: 'v=0' }),
    fields: { callId: { required: true, valid: isString(1, 64) }, sdp: { required: true, valid: isString(1, 65_536) } },
  },
  ice_candidate: {
    base: () => ({ callId: 'c1', candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0 } }),
    // Objects are counted as valid (their fields are not judged here): only non-objects are generated.
    fields: { callId: { required: true, valid: isString(1, 64) }, candidate: { required: true, valid: isPlainObject } },
  },
  ai_chat: {
    base: () => ({ content: 'hello' }),
    fields: {
      conversationId: { required: false, valid: isString(1, 36) },
      content: { required: true, valid: isString(1, 20_000) },
      // The pattern (provider/model, or a provider alone) is not judged here: any string of a valid length counts as valid.
      model: { required: false, valid: isString(1, 200) },
    },
  },
  ai_cancel: {
    base: () => ({ requestId: 'r1' }),
    fields: { requestId: { required: true, valid: isString(1, 64) } },
  },
};

/** True when the payload cannot pass the event's schema (so the only right answer is VALIDATION_FAILED). */
function definitelyInvalid(spec: EventSpec, payload: unknown): boolean {
  if (!isPlainObject(payload)) return true;
  const keys = Object.keys(payload);
  if (keys.some((key) => !Object.hasOwn(spec.fields, key))) return true;
  for (const [name, field] of Object.entries(spec.fields)) {
    if (!Object.hasOwn(payload, name)) {
      if (field.required) return true;
    } else if (!field.valid(payload[name])) return true;
  }
  return false;
}

// ---- garbage ----

/** About 200 KB on the wire: well under the 2 MB socket buffer, far over any field's limit. */
const HUGE_STRINGS = ['x'.repeat(200_000), '😀'.repeat(50_000), '王'.repeat(70_000), '9'.repeat(200_000), 'مرحبا'.repeat(20_000)];

function nested(depth: number, kind: 'object' | 'array' | 'mixed'): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) {
    const asArray = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    value = asArray ? [value, i] : { a: value, n: i };
  }
  return value;
}

const EDGE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\n',
  'null',
  'undefined',
  'true',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  '１２３',
  '٣',
  '1\n',
  ' 1',
  '99999999999999999999999',
  '🙂',
  '\u202eevil',
  '\ud800',
  'a'.repeat(81),
  'g.'.repeat(41),
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '__proto__',
  'constructor',
];

const hugeString = fc.constantFrom(...HUGE_STRINGS);
const deepGarbage = fc
  .tuple(fc.integer({ min: 16, max: 1500 }), fc.constantFrom('object' as const, 'array' as const, 'mixed' as const))
  .map(([depth, kind]) => nested(depth, kind));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepGarbage },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, -0, 1e308, true, false, null, [], {}) },
);

/** Payloads that are not objects at all. */
const notAnObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  hugeString,
  fc.array(anyValue, { maxLength: 6 }),
  deepGarbage.map((value) => [value]),
);

function invalidPayloads(spec: EventSpec): fc.Arbitrary<unknown> {
  const names = Object.keys(spec.fields);
  const required = names.filter((name) => spec.fields[name]?.required);
  const wrongValue = (name: string) => anyValue.filter((value) => !spec.fields[name]?.valid(value));
  const wrongFields = fc
    .uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: names.length })
    .chain((chosen) => fc.tuple(...chosen.map((name) => wrongValue(name).map((value) => [name, value] as const))))
    .map((pairs) => ({ ...spec.base(), ...Object.fromEntries(pairs) }));
  const missingFields = fc.subarray(required, { minLength: 1 }).map((drop) => {
    const payload = spec.base();
    for (const name of drop) delete payload[name];
    return payload;
  });
  const extraField = fc
    .tuple(fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'x'.repeat(1000))), anyValue)
    .filter(([key]) => !names.includes(key))
    .map(([key, value]) => ({ ...spec.base(), [key]: value }));
  const garbageObject = fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 6 });
  const objects = fc.oneof(wrongFields, missingFields, extraField, garbageObject);
  return fc.oneof({ weight: 1, arbitrary: notAnObject }, { weight: 4, arbitrary: objects }).filter((payload) => definitelyInvalid(spec, payload));
}

/** Hand-picked payloads per event, on top of the random ones. */
function handPicked(event: ClientEvent): unknown[] {
  const spec = SPECS[event];
  const base = spec.base();
  const common: unknown[] = [
    null,
    0,
    -1,
    3.14,
    '',
    'payload',
    true,
    false,
    [],
    [base],
    {},
    { ...base, extra: 1 },
    JSON.parse(`{"__proto__": ${JSON.stringify(base)}}`),
    { ...base, ...JSON.parse('{"__proto__": {"polluted": true}}') },
    nested(1000, 'object'),
    nested(1000, 'array'),
    { ...base, deep: nested(1000, 'mixed') },
    ...HUGE_STRINGS.slice(0, 2),
    Buffer.from('binary garbage'),
    Buffer.alloc(150_000, 7),
    { ...base, blob: Buffer.alloc(1_000_000, 1) },
    // Wide rather than deep: tens of thousands of keys, at the top and one level down.
    Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, i])),
    { ...base, wide: Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, '1'])) },
    Array.from({ length: 100_000 }, (_, i) => i),
  ];
  for (const [name] of Object.entries(spec.fields)) {
    for (const value of [null, 42, true, [], {}, HUGE_STRINGS[0], nested(200, 'object'), Buffer.from('x')]) {
      if (!spec.fields[name]?.valid(value)) common.push({ ...base, [name]: value });
    }
  }
  /** The four call actions take the same payload (callId and an optional reason). */
  const callActionCases = [
    { callId: '' },
    { callId: 'c'.repeat(65) },
    { callId: 1 },
    { callId: 'c1', reason: '' },
    { callId: 'c1', reason: 'r'.repeat(65) },
    { callId: 'c1', reason: 7 },
    { id: 'c1' },
  ];
  const specific: Record<ClientEvent, unknown[]> = {
    chat: [
      { ...base, type: 'TEXT' },
      { ...base, type: 'sticker' },
      { ...base, conversationId: '' },
      { ...base, conversationId: 'c'.repeat(81) },
      { ...base, clientMsgId: '' },
      { ...base, clientMsgId: 'm'.repeat(65) },
      { ...base, content: 'x'.repeat(20_001) },
      { ...base, replyToId: '' },
      { ...base, replyToId: '1'.repeat(21) },
      { ...base, attachments: [{}] },
      { ...base, attachments: [{ fileId: '' }] },
      { ...base, attachments: [{ fileId: 'f', size: -1 }] },
      { ...base, attachments: [{ fileId: 'f', size: 1.5 }] },
      { ...base, attachments: [{ fileId: 'f', filename: 'x'.repeat(256) }] },
      { ...base, attachments: Array.from({ length: 21 }, (_, i) => ({ fileId: `f${i}` })) },
      { ...base, attachments: 'f1' },
    ],
    typing: [{ ...base, typing: 'true' }, { ...base, typing: 1 }, { ...base, typing: null }, { conversationId }],
    read: [
      { ...base, messageId: 1 },
      { ...base, messageId: '' },
      { ...base, messageId: '-1' },
      { ...base, messageId: '1.0' },
      { ...base, messageId: '1'.repeat(21) },
      { ...base, messageId: '١' },
    ],
    user_status: [{ status: 'offline' }, { status: 'busy' }, { status: 'ONLINE' }, { status: ['online'] }, { status: { online: true } }],
    sync: [
      { since: [] },
      { since: ['1'] },
      { since: null },
      { since: '{}' },
      { since: { [conversationId]: 5 } },
      { since: { [conversationId]: 'latest' } },
      { since: { [conversationId]: '' } },
      { since: { [conversationId]: null } },
      { since: { ['k'.repeat(81)]: '1' } },
      { since: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`c${i}`, '0'])) },
      { since: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`c${i}`, '0'])) },
      { since: {}, limit: 0 },
      { since: {}, limit: 1001 },
      { since: {}, limit: 1.5 },
      { since: {}, limit: '10' },
    ],
    auth_refresh: [{ token: '' }, { token: 'x'.repeat(4097) }, { token: 123 }, { token: ['a', 'b'] }, { refreshToken: 'x' }],
    call_request: [
      { toUserId: 'u1', media: 'screen' },
      { toUserId: 'u1', media: 'AUDIO' },
      { toUserId: 'u1' },
      { media: 'video' },
      { toUserId: '', media: 'audio' },
      { toUserId: 'u'.repeat(37), media: 'audio' },
      { toUserId: ['u1'], media: 'audio' },
    ],
    call_accept: callActionCases,
    call_reject: callActionCases,
    call_cancel: callActionCases,
    call_hangup: callActionCases,
    webrtc_offer: [{ callId: 'c1', sdp: '' }, { callId: 'c1', sdp: 's'.repeat(65_537) }, { callId: 'c1', sdp: { type: 'offer', sdp: 'v=0' } }, { callId: 'c1' }, { sdp: 'v=0' }],
    webrtc_answer: [{ callId: 'c1', sdp: '' }, { callId: 'c1', sdp: 's'.repeat(65_537) }, { callId: 'c1', sdp: { type: 'answer', sdp: 'v=0' } }, { callId: 'c1' }, { sdp: 'v=0' }],
    ice_candidate: [
      { callId: 'c1', candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' },
      { callId: 'c1', candidate: {} },
      { callId: 'c1', candidate: { candidate: 1 } },
      { callId: 'c1', candidate: { candidate: 'c'.repeat(1025) } },
      { callId: 'c1', candidate: { candidate: '', sdpMLineIndex: -1 } },
      { callId: 'c1', candidate: { candidate: '', sdpMLineIndex: 1.5 } },
      { callId: 'c1', candidate: { candidate: '', sdpMid: 5 } },
      { callId: 'c1', candidate: { candidate: '', extra: true } },
      { callId: 'c1', candidate: null },
    ],
    ai_chat: [
      { content: '' },
      { content: 'x'.repeat(20_001) },
      { content: 1 },
      { content: ['hi'] },
      { conversationId: '', content: 'hi' },
      { conversationId: 'c'.repeat(37), content: 'hi' },
      { content: 'hi', model: '' },
      { content: 'hi', model: 'm'.repeat(201) },
      { content: 'hi', model: 5 },
      { message: 'hi' },
    ],
    ai_cancel: [{ requestId: '' }, { requestId: 'r'.repeat(65) }, { requestId: 1 }, { id: 'r1' }, { requestId: null }],
  };
  return [...common, ...specific[event]].filter((payload) => Buffer.isBuffer(payload) || definitelyInvalid(spec, payload));
}

// ---- the suite ----

function expectValidationFailed(event: ClientEvent, payload: unknown, ack: Ack<unknown>): void {
  const allowed = event === 'chat' ? ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE'] : ['VALIDATION_FAILED'];
  if (ack.ok || !allowed.includes(ack.error.code) || typeof ack.error.message !== 'string') {
    const shown = JSON.stringify(payload)?.slice(0, 300);
    throw new Error(`${event}: expected ${allowed.join(' or ')} for ${shown}, got ${JSON.stringify(ack).slice(0, 300)}`);
  }
}

/** Emits one event with an ack, straight on the socket (no SDK typing in the way). */
function send(socket: ParleySocket, event: string, ...args: unknown[]): Promise<Ack<unknown>> {
  return (socket.timeout(15_000) as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<Ack<unknown>> }).emitWithAck(event, ...args);
}

describe(`malformed socket payloads (${storageLabel})`, () => {
  const suite = useTestServer();
  let fuzzer: ConnectedUser;
  let peer: ConnectedUser;
  let sent = 0;

  beforeAll(async () => {
    fuzzer = await connectedUser(suite.server.url);
    peer = await connectedUser(suite.server.url);
    conversationId = (await fuzzer.client.request<{ id: string }>('POST', '/conversations', { peerId: peer.id })).id;
  });
  afterAll(() => {
    fuzzer?.client.disconnect();
    peer?.client.disconnect();
  });

  /** The socket is still up and the server still serves, with a real message delivered end to end. */
  async function stillServing(): Promise<void> {
    expect(fuzzer.socket.connected).toBe(true);
    const delivered = nextEvent(peer.socket, 'chat', (m) => m.clientMsgId === `alive-${sent}`);
    const message = await fuzzer.client.emit('chat', { conversationId, type: 'text', content: `still here ${sent}`, clientMsgId: `alive-${sent}` });
    expect(message.content).toBe(`still here ${sent}`);
    expect((await delivered).id).toBe(message.id);
    sent++;
    expect((await apiClient(suite.server.url)('GET', '/healthz')).status).toBe(200);
  }

  it('covers every client event of the contract', () => {
    expect(Object.keys(SPECS).sort()).toEqual([...CLIENT_EVENTS].sort());
  });

  for (const event of CLIENT_EVENTS) {
    describe(event, () => {
      it('answers no payload at all with VALIDATION_FAILED', async () => {
        const ack = await send(fuzzer.socket, event);
        expectValidationFailed(event, undefined, ack);
        expectValidationFailed(event, null, await send(fuzzer.socket, event, undefined));
        // Several arguments: the first is the payload, the last the ack.
        expectValidationFailed(event, 1, await send(fuzzer.socket, event, 1, SPECS[event].base()));
        await stillServing();
      });

      it('answers hand-picked malformed payloads with VALIDATION_FAILED', async () => {
        const payloads = handPicked(event);
        expect(payloads.length).toBeGreaterThan(20);
        for (const payload of payloads) expectValidationFailed(event, payload, await send(fuzzer.socket, event, payload));
        await stillServing();
      });

      it(`answers ${RUNS_PER_EVENT} random malformed payloads with VALIDATION_FAILED`, async () => {
        await fc.assert(
          fc.asyncProperty(invalidPayloads(SPECS[event]), async (payload) => {
            expectValidationFailed(event, payload, await send(fuzzer.socket, event, payload));
            expect(fuzzer.socket.connected).toBe(true);
          }),
          { seed: SEED, numRuns: RUNS_PER_EVENT, endOnFailure: true },
        );
        console.log(`socket fuzz ${event}: ${RUNS_PER_EVENT} random + ${handPicked(event).length} hand-picked payloads`);
        await stillServing();
      });

      it('survives malformed payloads sent without an ack callback', async () => {
        const payloads = [...handPicked(event), ...fc.sample(invalidPayloads(SPECS[event]), { seed: SEED + 1, numRuns: 60 })];
        const emit = fuzzer.socket.emit.bind(fuzzer.socket) as unknown as (event: string, ...args: unknown[]) => void;
        for (const payload of payloads) emit(event, payload);
        // And with no payload and no ack at all.
        emit(event);
        // Every packet above is read and dispatched before the barrier's ack comes back.
        await barrier(fuzzer.socket);
        await stillServing();
      });
    });
  }

  it('answers chat content over 10,000 characters with PAYLOAD_TOO_LARGE', async () => {
    for (const content of ['a'.repeat(10_001), '😀'.repeat(10_001), '王'.repeat(15_000)]) {
      const ack = await send(fuzzer.socket, 'chat', { conversationId, type: 'text', content, clientMsgId: `big-${content.length}` });
      expect(ack).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    }
    await stillServing();
  });

  it('never logged an error while answering all of that', async () => {
    await suite.server.close();
    const logDir = path.join(suite.env.dataDir, 'logs');
    const lines = readdirSync(logDir)
      .flatMap((file) => readFileSync(path.join(logDir, file), 'utf8').split('\n'))
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg?: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
  });
});
