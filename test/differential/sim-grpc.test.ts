/** The catalog on the sim through the broker's gRPC API (an in-process daemon), against the kernel's recorded answers. */
import { startInProcess, type InProcess } from '../integration/helpers.js';
import { grpcDevice } from './runner-grpc.js';
import { defineDifferential } from './suite.js';

let rb: InProcess | undefined;
defineDifferential('sim-grpc', async () => {
  rb = await startInProcess('diff');
  const { dev, close } = await grpcDevice(rb.client, 'sim0');
  return {
    dev,
    async close() {
      await close();
      await rb?.stop();
    },
  };
}, { waitScale: 0.05, broker: true });
