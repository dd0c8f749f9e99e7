/**
 * ListAndWatch follows the broker's devices: every slot Unhealthy while no
 * RDMA device is live (the sim's hot-unplug hook, as `rdma link delete`),
 * Healthy again when one comes back. The daemon runs in this process so the
 * test holds its sim backend.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../../src/daemon/main.js';
import { parseOptions, type DaemonOptions } from '../../../src/daemon/options.js';
import { SimBackend } from '../../../src/verbs/sim/index.js';
import { waitFor } from '../helpers.js';
import { KubeletStandIn } from './kubelet.js';
import { registered } from './harness.js';

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

it('slots turn Unhealthy when the last device goes and Healthy when it is back', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-k8s-health-'));
  const k = new KubeletStandIn(path.join(base, 'kubelet'));
  await k.start();
  const opts = parseOptions(['--device', 'sim', '--socket', path.join(base, 'broker.sock'), '--kubelet-dir', k.dir, '--state-dir', path.join(base, 'state')]) as DaemonOptions;
  const backend = new SimBackend();
  const d: Daemon = await startDaemon(opts, pino({ level: 'silent' }), { backend });
  cleanup = async () => {
    k.close();
    await d.stop();
    fs.rmSync(base, { recursive: true, force: true });
  };
  await registered(k);
  const health = (): Set<string> => new Set(k.devices.map((x) => x.health));
  expect(health()).toEqual(new Set(['Healthy']));
  const lists = k.lists.length;
  backend.removeDevice('sim0');
  await waitFor(() => health().has('Unhealthy'), 3000, 'Unhealthy slots');
  expect(health()).toEqual(new Set(['Unhealthy']));
  expect(k.devices).toHaveLength(64);
  expect(k.lists.length).toBe(lists + 1);
  backend.addDevice('sim0');
  await waitFor(() => health().has('Healthy'), 3000, 'Healthy slots');
  expect(health()).toEqual(new Set(['Healthy']));
  expect(k.lists.length).toBe(lists + 2);
});
