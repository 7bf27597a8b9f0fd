// A free TCP port on the loopback address (or another of this machine's addresses), for the servers the tests start (operator, S3, Prometheus).
// The port is free when handed out; a server that loses it to another process starts again.
import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.on('error', rej);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? res(address.port) : rej(new Error('no port')),
      );
    });
  });
}
