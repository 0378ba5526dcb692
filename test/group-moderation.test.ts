import { afterEach, describe, expect, it } from 'vitest';
import { type Message, rest } from '../src/client/index.js';
import { createGroup, expectFailure, history, openPrivate, people, sendText } from './support/messaging.js';
import { nextEvent } from './support/realtime.js';
import { storageLabel } from './support/server.js';
import { useTestServer } from './support/suite.js';

describe(`group moderation: the owner and admins remove members' messages (${storageLabel})`, () => {
  const suite = useTestServer();
  const crowd = people(() => suite.server.url);
  afterEach(() => crowd.closeAll());

  async function team() {
    const [owner, admin, other, member] = [await crowd.user(), await crowd.user(), await crowd.user(), await crowd.user()];
    const group = await createGroup(owner.client, [admin, other, member]);
    await owner.client.request('PATCH', `/groups/${group.id}/members/${admin.id}`, { role: 'admin' });
    await owner.client.request('PATCH', `/groups/${group.id}/members/${other.id}`, { role: 'admin' });
    return { owner, admin, other, member, group };
  }

  it("lets an admin remove a member's message: every member device gets the recall and a 'removed' notice", async () => {
    const { owner, admin, member, group } = await team();
    const memberPhone = await crowd.device(member);
    const message = await sendText(member.client, group.conversationId, 'off-topic rant');
    const recalledOn = [owner, member, { socket: memberPhone.socket }].map((p) =>
      nextEvent(p.socket, 'message_updated', (e) => e.message.id === message.id && e.message.recalledAt !== null),
    );
    const noticeOn = [owner, member].map((p) => nextEvent(p.socket, 'chat', (m: Message) => m.system?.kind === 'message_removed'));
    const removed = await rest(admin.client).messages.recall(message.id);
    expect(removed).toMatchObject({ id: message.id, content: '', senderId: member.id });
    expect(removed.recalledAt).not.toBeNull();
    for (const event of await Promise.all(recalledOn)) expect(event.message.content).toBe('');
    for (const notice of await Promise.all(noticeOn))
      expect(notice).toMatchObject({ type: 'system', senderId: admin.id, system: { kind: 'message_removed', actorId: admin.id, userIds: [member.id] } });

    const items = (await history(owner.client, group.conversationId)).items;
    expect(items.find((m) => m.id === message.id)).toMatchObject({ content: '', recalledAt: removed.recalledAt });
    expect(items[0]?.system).toEqual({ kind: 'message_removed', actorId: admin.id, userIds: [member.id] });
    // Removing it again: it is already gone.
    await expectFailure(rest(admin.client).messages.recall(message.id), 'CONFLICT', 409);
  });

  it("follows the group's ranks: an admin removes no owner's or admin's message, the owner removes an admin's, a member nobody's", async () => {
    const { owner, admin, other, member, group } = await team();
    const byOwner = await sendText(owner.client, group.conversationId, 'rules');
    const byOther = await sendText(other.client, group.conversationId, 'admin note');
    const byAdmin = await sendText(admin.client, group.conversationId, 'admin words');
    const byMember = await sendText(member.client, group.conversationId, 'hello');
    await expectFailure(rest(admin.client).messages.recall(byOwner.id), 'FORBIDDEN', 403);
    await expectFailure(rest(admin.client).messages.recall(byOther.id), 'FORBIDDEN', 403);
    await expectFailure(rest(member.client).messages.recall(byAdmin.id), 'FORBIDDEN', 403);
    await expectFailure(rest(member.client).messages.recall(byOwner.id), 'FORBIDDEN', 403);
    expect((await rest(owner.client).messages.recall(byOther.id)).recalledAt).not.toBeNull();
    expect((await rest(owner.client).messages.recall(byMember.id)).recalledAt).not.toBeNull();
    // The group's own records are nobody's to remove.
    const system = (await history(owner.client, group.conversationId)).items.find((m) => m.type === 'system');
    await expectFailure(rest(owner.client).messages.recall(system?.id as string), 'FORBIDDEN', 403);
    // Messages stay untouched where the refusals fell.
    const after = (await history(owner.client, group.conversationId)).items;
    expect(after.find((m) => m.id === byOwner.id)?.content).toBe('rules');
    expect(after.find((m) => m.id === byAdmin.id)?.content).toBe('admin words');
  });

  it("lets a moderator remove the message of someone who has left, and nobody remove the other person's in a private chat", async () => {
    const { owner, member, group } = await team();
    const message = await sendText(member.client, group.conversationId, 'parting shot');
    await member.client.request('DELETE', `/groups/${group.id}/members/${member.id}`);
    expect((await rest(owner.client).messages.recall(message.id)).recalledAt).not.toBeNull();

    const conversationId = await openPrivate(owner.client, member.id);
    const direct = await sendText(member.client, conversationId, 'just us');
    await expectFailure(rest(owner.client).messages.recall(direct.id), 'FORBIDDEN', 403);
  });
});
