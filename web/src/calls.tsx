/**
 * One-to-one voice and video calls: signalling over the socket (call_* events, webrtc_offer/answer,
 * ice_candidate), media over an RTCPeerConnection. The caller sends the offer once the call is accepted.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CallMedia, IceCandidate, ParleySocket } from '../../src/client/index.js';
import { showError } from './errors.js';
import { type StringKey, t } from './i18n.js';
import { api, client } from './state/client.js';
import { onSocket } from './state/live.js';
import type { CallView } from './state/model.js';
import { getState, update, useStore } from './state/state.js';
import { Avatar } from './ui.js';

/** What the view cannot hold: the connection, the streams and candidates that came early. */
let peer: RTCPeerConnection | null = null;
let localStream: MediaStream | null = null;
let remoteStream: MediaStream | null = null;
let earlyCandidates: IceCandidate[] = [];
const FINAL = new Set(['rejected', 'busy', 'missed', 'cancelled', 'ended', 'answered_elsewhere']);
/** Why a call ended, in the reader's language (the server sends state names, not sentences). */
const ENDED_TEXT: Record<string, StringKey> = { missed: 'callStateMissed', rejected: 'callStateRejected', cancelled: 'callStateCancelled', busy: 'callStateBusy' };
const endedText = (state: string) => t('callEnded', { state: ENDED_TEXT[state] ? t(ENDED_TEXT[state]) : state });

function setCall(patch: Partial<CallView> | null): void {
  update((s) => ({ call: patch === null ? null : s.call ? { ...s.call, ...patch } : null }));
}

function cleanUp(): void {
  peer?.close();
  peer = null;
  for (const track of localStream?.getTracks() ?? []) track.stop();
  localStream = null;
  remoteStream = null;
  earlyCandidates = [];
  update({ call: null });
}

async function getMedia(media: CallMedia): Promise<MediaStream> {
  localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: media === 'video' });
  return localStream;
}

async function createPeer(callId: string): Promise<RTCPeerConnection> {
  const { iceServers } = await api.calls.iceServers();
  const connection = new RTCPeerConnection({ iceServers });
  peer = connection;
  remoteStream = new MediaStream();
  for (const track of localStream?.getTracks() ?? []) connection.addTrack(track, localStream as MediaStream);
  connection.ontrack = (event) => {
    remoteStream?.addTrack(event.track);
    // One event per track (audio, then video): the timer starts with the first.
    if (getState().call?.phase !== 'active') setCall({ phase: 'active', activeSince: Date.now() });
  };
  connection.onicecandidate = (event) => {
    if (event.candidate) void client.emit('ice_candidate', { callId, candidate: event.candidate.toJSON() as IceCandidate }).catch(() => {});
  };
  return connection;
}

async function flushCandidates(connection: RTCPeerConnection): Promise<void> {
  const queued = earlyCandidates;
  earlyCandidates = [];
  for (const candidate of queued) await connection.addIceCandidate(candidate).catch(() => {});
}

export async function startCall(peerUser: { id: string; nickname: string; username: string; avatarUrl: string | null }, media: CallMedia): Promise<void> {
  if (getState().call) return;
  await getMedia(media);
  try {
    const result = await client.emit('call_request', { toUserId: peerUser.id, media });
    if (FINAL.has(result.state)) {
      cleanUp();
      showError(new Error(endedText(result.state)));
      return;
    }
    update({
      call: {
        callId: result.callId,
        peer: { id: peerUser.id, name: peerUser.nickname || peerUser.username, avatarUrl: peerUser.avatarUrl },
        media,
        direction: 'outgoing',
        phase: 'ringing',
        muted: false,
        cameraOff: false,
        activeSince: null,
      },
    });
  } catch (error) {
    cleanUp();
    throw error;
  }
}

async function accept(): Promise<void> {
  const call = getState().call;
  if (!call) return;
  await getMedia(call.media);
  setCall({ phase: 'connecting' });
  await client.emit('call_accept', { callId: call.callId });
}

async function end(): Promise<void> {
  const call = getState().call;
  if (!call) return;
  const event = call.phase === 'ringing' ? (call.direction === 'incoming' ? 'call_reject' : 'call_cancel') : 'call_hangup';
  cleanUp();
  await client.emit(event, { callId: call.callId }).catch(() => {});
}

function toggle(kind: 'audio' | 'video'): void {
  const call = getState().call;
  if (!call) return;
  const off = kind === 'audio' ? !call.muted : !call.cameraOff;
  for (const track of localStream?.getTracks() ?? []) if (track.kind === kind) track.enabled = !off;
  setCall(kind === 'audio' ? { muted: off } : { cameraOff: off });
}

function handlers(socket: ParleySocket): void {
  socket.on('call_request', (event) => {
    if (getState().call) return; // The server answers `busy` for a second call; this device ignores it.
    update({
      call: {
        callId: event.callId,
        peer: { id: event.from.id, name: event.from.nickname || event.from.username, avatarUrl: event.from.avatarUrl },
        media: event.media,
        direction: 'incoming',
        phase: 'ringing',
        muted: false,
        cameraOff: false,
        activeSince: null,
      },
    });
  });
  socket.on('call_state', (event) => {
    const call = getState().call;
    if (!call || call.callId !== event.callId) return;
    if (FINAL.has(event.state)) {
      cleanUp();
      if (event.state !== 'ended' && event.state !== 'answered_elsewhere') showError(new Error(endedText(event.state)));
      return;
    }
    if (event.state === 'accepted' && call.direction === 'outgoing') {
      setCall({ phase: 'connecting' });
      void (async () => {
        const connection = await createPeer(call.callId);
        const offer = await connection.createOffer();
        await connection.setLocalDescription(offer);
        await client.emit('webrtc_offer', { callId: call.callId, sdp: offer.sdp ?? '' });
      })().catch(showError);
    }
  });
  socket.on('webrtc_offer', (event) => {
    const call = getState().call;
    if (!call || call.callId !== event.callId) return;
    void (async () => {
      const connection = peer ?? (await createPeer(call.callId));
      await connection.setRemoteDescription({ type: 'offer', sdp: event.sdp });
      await flushCandidates(connection);
      const answer = await connection.createAnswer();
      await connection.setLocalDescription(answer);
      await client.emit('webrtc_answer', { callId: call.callId, sdp: answer.sdp ?? '' });
    })().catch(showError);
  });
  socket.on('webrtc_answer', (event) => {
    if (!peer || getState().call?.callId !== event.callId) return;
    const connection = peer;
    void connection
      .setRemoteDescription({ type: 'answer', sdp: event.sdp })
      .then(() => flushCandidates(connection))
      .catch(showError);
  });
  socket.on('ice_candidate', (event) => {
    if (getState().call?.callId !== event.callId) return;
    if (peer?.remoteDescription) void peer.addIceCandidate(event.candidate).catch(() => {});
    else earlyCandidates.push(event.candidate);
  });
}
onSocket(handlers);

function StreamVideo({ stream, muted, className, label }: { stream: MediaStream | null; muted: boolean; className: string; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  });
  return <video ref={ref} class={className} autoPlay playsInline muted={muted} aria-label={label} />;
}

/** Elapsed time as m:ss, or h:mm:ss past an hour. */
function elapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

/** A running mm:ss since `since`, re-rendered every second. */
function CallTimer({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return (
    <span class="call-timer" role="timer" aria-label={t('callDuration')} data-testid="call-timer">
      {elapsed(now - since)}
    </span>
  );
}

/** The call overlay: ringing (accept/reject or cancel), then both videos with mute, camera and hang up. */
export function CallOverlay() {
  const { call } = useStore();
  if (!call) return null;
  const ringingIn = call.phase === 'ringing' && call.direction === 'incoming';
  const status =
    call.phase === 'ringing'
      ? call.direction === 'incoming'
        ? t('incomingCall', { media: t(call.media === 'video' ? 'video' : 'voice') })
        : t('calling')
      : call.phase === 'connecting'
        ? t('connectingCall')
        : t('inCall');
  return (
    <div class="call" role="dialog" aria-modal="true" aria-label={status} data-testid="call" data-phase={call.phase}>
      <div class="call-head">
        <Avatar name={call.peer.name} url={call.peer.avatarUrl} size={56} />
        <div>
          <strong>{call.peer.name}</strong>
          <div class="small">
            {status}
            {call.phase === 'active' && call.activeSince !== null && (
              <>
                {' · '}
                <CallTimer since={call.activeSince} />
              </>
            )}
          </div>
        </div>
      </div>
      {call.media === 'video' && call.phase !== 'ringing' && (
        <div class="videos">
          <StreamVideo stream={remoteStream} muted={false} className="remote" label="remote video" />
          <StreamVideo stream={localStream} muted className="local" label="local video" />
        </div>
      )}
      {call.media === 'audio' && call.phase !== 'ringing' && <StreamVideo stream={remoteStream} muted={false} className="hidden" label="remote audio" />}
      <div class="call-actions">
        {ringingIn && (
          <button type="button" class="primary" onClick={() => void accept().catch(showError)}>
            {t('accept')}
          </button>
        )}
        {call.phase !== 'ringing' && (
          <>
            {/* A toggle keeps one name and says its state with aria-pressed (a name that flips as well would read "Unmute, pressed"). */}
            <button type="button" class="toggle" aria-pressed={call.muted} onClick={() => toggle('audio')}>
              <span aria-hidden="true">{call.muted ? '🔇' : '🎙️'}</span>
              {t('muteMic')}
            </button>
            {call.media === 'video' && (
              <button type="button" class="toggle" aria-pressed={call.cameraOff} onClick={() => toggle('video')}>
                <span aria-hidden="true">{call.cameraOff ? '🚫' : '📷'}</span>
                {t('cameraOff')}
              </button>
            )}
          </>
        )}
        <button type="button" class="hangup" onClick={() => void end()}>
          {ringingIn ? t('reject') : call.phase === 'ringing' ? t('cancel') : t('hangUp')}
        </button>
      </div>
    </div>
  );
}
