/** Picks the verbs backend: the kernel's devices, or the simulated device. */
import type { Logger } from 'pino';
import type { Backend } from '../verbs/backend.js';

// The backends are loaded on demand: the libibverbs one needs libibverbs.so.1.
const SIM_MODULE: string = '../verbs/sim/index.js';
const IBVERBS_MODULE: string = '../verbs/ibverbs/index.js';
type SimModule = { createSimBackend(o?: { deviceFaults?: boolean; devices?: number }): Backend };
type IbverbsModule = { createIbverbsBackend(o: { log: Logger }): Backend };

/** The backend of `--device MODE`; `simDevices` (--sim-devices) is how many devices `sim` serves. */
export async function selectBackend(mode: 'auto' | 'sim' | 'ibverbs', log: Logger, simDevices = 1): Promise<Backend> {
  if (mode === 'sim') {
    const { createSimBackend } = (await import(SIM_MODULE)) as SimModule;
    // A sim chosen on purpose is a test device: its sessions may take its port down or make it fail
    // (docs/fault-injection.md). The sim0 that `auto` falls back to is not.
    return createSimBackend({ deviceFaults: true, devices: simDevices });
  }
  let reason: string;
  try {
    const { createIbverbsBackend } = (await import(IBVERBS_MODULE)) as IbverbsModule;
    const b = createIbverbsBackend({ log });
    const devs = await b.listDevices();
    if (devs.length > 0) return b;
    // --device ibverbs promises real devices: serving an empty device list would hide a missing driver.
    if (mode === 'ibverbs') {
      throw new Error('--device ibverbs: the host has no RDMA devices (libibverbs lists none: load the driver, e.g. `rdma link add rxe0 type rxe netdev eth0` for soft-RoCE, or use --device auto or sim)');
    }
    reason = 'the host has no RDMA devices';
  } catch (e) {
    if (mode === 'ibverbs') throw e;
    reason = (e as Error).message;
  }
  log.warn({ reason }, 'using the simulated device sim0');
  const { createSimBackend } = (await import(SIM_MODULE)) as SimModule;
  return createSimBackend();
}
