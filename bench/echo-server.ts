/** Child process: the bare grpc-js echo server (the transport floor). Usage: echo-server.js SOCKET */
import { serveEcho } from './lib/echo.js';

const socket = process.argv[2];
if (!socket) {
  process.stderr.write('usage: echo-server.js SOCKET\n');
  process.exit(2);
}
const server = await serveEcho(socket);
process.send?.({ ready: true });
const stop = (): void => {
  server.forceShutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
