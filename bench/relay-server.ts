// The baseline of the fan-out bench: a bare Socket.IO relay with no auth and no storage, set up
// like Parley's gateway (websocket, no compression, same ping and buffer settings). A client
// names its room in the handshake auth; `chat` goes to the rest of the room and is acked.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, {
  path: '/socket.io',
  perMessageDeflate: false,
  maxHttpBufferSize: 2 * 1024 * 1024,
  pingInterval: 20_000,
  pingTimeout: 20_000,
  connectTimeout: 10_000,
});

let sequence = 0;
io.on('connection', (socket) => {
  const room = (socket.handshake.auth as { room?: unknown }).room;
  if (typeof room !== 'string' || room.length === 0) {
    socket.disconnect(true);
    return;
  }
  void socket.join(room);
  socket.on('chat', (payload: unknown, ack: unknown) => {
    const id = String(++sequence);
    socket.to(room).emit('chat', payload);
    if (typeof ack === 'function') ack({ ok: true, data: { id } });
  });
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'relay listening', url: `http://127.0.0.1:${port}` })}\n`);
});

const stop = () => {
  io.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
