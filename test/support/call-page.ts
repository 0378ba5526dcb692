import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { ROOT } from './process.js';

/**
 * A tiny video-call web page of the tests' own, the way a client developer would write one against
 * Parley: REST login, Socket.IO with the access token, ICE servers from GET /calls/ice-servers,
 * getUserMedia, one RTCPeerConnection, signaling only through Parley's socket events. The page
 * answers incoming calls by itself; `window.call(userId)` places one. `window.remote` reports the
 * remote video track. Only loopback candidates are sent, so the browsers talk over 127.0.0.1 only.
 */
const PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>Parley call test</title></head>
<body>
<video id="local" autoplay playsinline muted width="160"></video>
<video id="remote" autoplay playsinline width="320"></video>
<script src="/socket.io.js"></script>
<script>
const params = new URLSearchParams(location.search);
const api = params.get('api');
const log = (...args) => console.log('[page]', ...args);
window.states = [];
window.remote = { track: null, frames: 0 };

async function rest(method, path, token, body) {
  const response = await fetch(api + '/api/v1' + path, {
    method,
    headers: Object.assign({ 'content-type': 'application/json' }, token ? { authorization: 'Bearer ' + token } : {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(method + ' ' + path + ' → ' + response.status);
  return response.json();
}

const loopbackOnly = (candidate) => / 127\\.0\\.0\\.1 /.test(candidate.candidate);

async function start() {
  const { accessToken } = await rest('POST', '/auth/login', null, { username: params.get('user'), password: params.get('pass') });
  const { iceServers } = await rest('GET', '/calls/ice-servers', accessToken);
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
  document.getElementById('local').srcObject = media;
  const socket = io(api, { path: '/socket.io', transports: ['websocket'], auth: { token: accessToken } });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  let pc = null;
  let callId = null;
  const pending = [];

  function peer() {
    pc = new RTCPeerConnection({ iceServers });
    for (const track of media.getTracks()) pc.addTrack(track, media);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && loopbackOnly(candidate)) socket.emit('ice_candidate', { callId, candidate: candidate.toJSON() }, () => {});
    };
    pc.ontrack = ({ track, streams }) => {
      if (track.kind !== 'video') return;
      document.getElementById('remote').srcObject = streams[0];
      window.remote.track = { id: track.id, readyState: track.readyState };
      track.onended = () => (window.remote.track.readyState = 'ended');
    };
    pc.onconnectionstatechange = () => log('connection', pc.connectionState);
    // Frames decoded from the remote video, from the receiver's stats, counted only while it plays.
    setInterval(async () => {
      const video = document.getElementById('remote');
      (await pc.getStats()).forEach((report) => {
        if (report.type === 'inbound-rtp' && report.kind === 'video' && video.videoWidth > 0 && !video.paused) window.remote.frames = report.framesDecoded || 0;
      });
    }, 200);
    return pc;
  }

  async function addCandidate(candidate) {
    if (!pc || !pc.remoteDescription) return pending.push(candidate);
    await pc.addIceCandidate(candidate);
  }

  socket.on('call_state', async (event) => {
    window.states.push(event.state);
    // The caller offers once the callee accepted.
    if (event.state === 'accepted' && event.callId === callId && window.placing) {
      peer();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      socket.emit('webrtc_offer', { callId, sdp: offer.sdp }, () => {});
    }
  });
  socket.on('call_request', (event) => {
    callId = event.callId;
    socket.emit('call_accept', { callId }, (ack) => log('accepted', JSON.stringify(ack)));
  });
  socket.on('webrtc_offer', async (event) => {
    peer();
    await pc.setRemoteDescription({ type: 'offer', sdp: event.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    socket.emit('webrtc_answer', { callId, sdp: answer.sdp }, () => {});
    for (const candidate of pending.splice(0)) await pc.addIceCandidate(candidate);
  });
  socket.on('webrtc_answer', async (event) => {
    await pc.setRemoteDescription({ type: 'answer', sdp: event.sdp });
    for (const candidate of pending.splice(0)) await pc.addIceCandidate(candidate);
  });
  socket.on('ice_candidate', (event) => addCandidate(event.candidate));

  window.call = (toUserId) =>
    new Promise((resolve, reject) => {
      window.placing = true;
      socket.emit('call_request', { toUserId, media: 'video' }, (ack) => {
        if (!ack.ok) return reject(new Error(ack.error.code));
        callId = ack.data.callId;
        resolve(ack.data);
      });
    });
  window.hangup = () => new Promise((resolve) => socket.emit('call_hangup', { callId }, resolve));
  window.remoteSize = () => {
    const video = document.getElementById('remote');
    return { width: video.videoWidth, height: video.videoHeight };
  };
  window.ready = true;
}
start().catch((error) => { window.failed = String(error && error.stack || error); });
</script>
</body>
</html>`;

/** What the page exposes to the test (its `window`). */
export interface CallPageWindow {
  ready?: boolean;
  failed?: string;
  states: string[];
  remote: { track: { id: string; readyState: string } | null; frames: number };
  call(toUserId: string): Promise<{ callId: string; state: string }>;
  hangup(): Promise<unknown>;
  remoteSize(): { width: number; height: number };
}

/** Serves the page and the Socket.IO browser client on 127.0.0.1 (an ephemeral port). */
export async function serveCallPage(): Promise<{ url: string; close(): Promise<void> }> {
  const client = readFileSync(path.join(ROOT, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js'));
  const server: Server = createServer((request, response) => {
    if (request.url?.startsWith('/socket.io.js')) {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      response.end(client);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
