import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Refuses a connection from an address that already holds `max` open ones (0: no limit), so one
 * client cannot take every socket and file descriptor with idle or half-sent connections.
 * `refuse` answers the extra connection and closes it; nothing it sends is read (reading is
 * stopped first, so no request on it reaches a route). Behind a load balancer or reverse proxy
 * every caller shares its address: raise the limit there, or set 0.
 */
export function capConnectionsPerAddress(
  server: Server,
  max: number,
  refuse: (socket: Socket) => void,
): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return; // already closed
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.on('error', () => undefined);
      socket.pause();
      refuse(socket);
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
