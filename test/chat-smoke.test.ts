import { describe, expect, it } from 'vitest';
import { ParleyClient, ParleyError } from '../src/client/index.js';
import { barrier, collect, connectedUser, nextEvent, secondDevice } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`chat basics (${storageLabel})`, () => {
  const suite = useTestServer();

  it('refuses a socket without a valid token with UNAUTHORIZED', async () => {
    const client = new ParleyClient(suite.server.url, { accessToken: 'not-a-token' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('commits, acks, then delivers a private message to the peer and the sender’s other device, once', async () => {
    const alice = await connectedUser(suite.server.url);
    const bob = await connectedUser(suite.server.url);
    const aliceTablet = await secondDevice(suite.server.url, alice);
    const { id: conversationId } = await alice.client.request<{ id: string }>('POST', '/conversations', { peerId: bob.id });
    const bobGot = nextEvent(bob.socket, 'chat');
    const tabletGot = nextEvent(aliceTablet.socket!, 'chat');
    const senderEchoes = collect(alice.socket, 'chat');
    const content = 'hi 👩🏽‍💻 王 مرحبا 🇯🇵';
    const stored = await alice.client.emit('chat', { conversationId, type: 'text', content, clientMsgId: 'c1' });
    expect(stored.content).toBe(content);
    expect((await bobGot).id).toBe(stored.id);
    expect((await tabletGot).id).toBe(stored.id);
    const again = await alice.client.emit('chat', { conversationId, type: 'text', content, clientMsgId: 'c1' });
    expect(again.id).toBe(stored.id);
    await barrier(alice.socket);
    expect(senderEchoes).toHaveLength(0);
    const history = await bob.client.request<{ items: Array<{ id: string; content: string }> }>('GET', `/conversations/${conversationId}/messages`);
    expect(history.items.map((m) => m.content)).toEqual([content]);
    for (const c of [alice.client, bob.client, aliceTablet]) c.disconnect();
  });

  it('answers malformed payloads with VALIDATION_FAILED and keeps the connection', async () => {
    const carol = await connectedUser(suite.server.url);
    for (const payload of [null, 42, 'x', [], { conversationId: 5 }, { conversationId: 'x', type: 'nope', content: '', clientMsgId: 'a' }]) {
      const ack = await carol.client.emitRaw('chat', payload as never);
      expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    expect(carol.socket.connected).toBe(true);
    await expect(carol.client.emit('chat', { conversationId: 'd.a.b', type: 'text', content: 'x', clientMsgId: 'z' })).rejects.toBeInstanceOf(ParleyError);
    carol.client.disconnect();
  });

  it('delivers group messages to members added later without reconnecting', async () => {
    const owner = await connectedUser(suite.server.url);
    const late = await connectedUser(suite.server.url);
    const group = await owner.client.request<{ id: string; conversationId: string }>('POST', '/groups', { name: '测试群 🎉' });
    const added = nextEvent(late.socket, 'group_member');
    const { invited } = await owner.client.request<{ invited: Array<{ id: string }> }>('POST', `/groups/${group.id}/members`, { userIds: [late.id] });
    // Not the owner's friend: the late member is invited and joins by accepting.
    await late.client.request('POST', `/group-invitations/${invited[0]?.id}/accept`);
    await added;
    const got = nextEvent(late.socket, 'chat');
    await owner.client.emit('chat', { conversationId: group.conversationId, type: 'emoji', content: '👍🏿', clientMsgId: 'g1' });
    expect((await got).content).toBe('👍🏿');
    owner.client.disconnect();
    late.client.disconnect();
  });
});
