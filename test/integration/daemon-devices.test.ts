/**
 * What the real daemon (bin/rdma-brokerd.js, a separate process) says of its
 * devices: Describe without a device lists the types that exist on at least
 * one of them, and rdmactl's --type check follows it.
 * (test/rxe/daemon-ibverbs.test.ts checks the same on rxe0, which has no
 * driver-specific type.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type Client } from '../../src/client/index.js';
import { CTL_BIN, runNode, spawnDaemon, type Daemon } from './helpers.js';

// Each case spawns rdmactl; on a loaded machine a node start takes seconds.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe('rdma-brokerd --device sim: Describe without a device', () => {
  let d: Daemon;
  let client: Client;
  beforeAll(async () => {
    d = await spawnDaemon('describe-sim');
    client = await connect({ socket: d.socket });
  });
  afterAll(async () => {
    client?.close();
    await d?.stop();
  });

  it('lists the types of its one sim device, the fault injector among them', async () => {
    const all = await client.describe();
    const sim0 = await client.describe('sim0');
    expect(all.device).toBe('');
    expect(all.types.map((t) => t.name)).toEqual(sim0.types.map((t) => t.name));
    expect(all.types.find((t) => t.name === 'sim_fault')).toMatchObject({ driver_specific: true });
    // Per method, the same support as its only device.
    const support = (r: typeof all): string[] => r.types.flatMap((t) => t.methods.map((m) => `${t.name}.${m.name}=${m.supported}`));
    expect(support(all)).toEqual(support(sim0));
    const ok = await runNode([CTL_BIN, '--socket', d.socket, 'objects', '--type', 'sim_fault']);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
