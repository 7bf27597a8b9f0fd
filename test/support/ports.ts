// A free TCP port on the loopback address, for the servers the tests start (operator, S3, Prometheus).
// The port is free when handed out; a server that loses it to another process starts again.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? res(address.port) : rej(new Error('no port')),
      );
    });
  });
}
