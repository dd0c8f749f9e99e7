/**
 * The simulated device's fault injector (../faults.ts): the failures a real
 * device has, on demand, so that every event path of the broker can be
 * tested without hardware. What each fault does follows the kernel:
 * - QP_FATAL, QP_REQ_ERR, QP_ACCESS_ERR: the QP is in ERR and its work
 *   requests are flushed (WR_FLUSH_ERR), as when rxe raises them
 *   (rxe_qp_error); a QP in RESET has no work queue to fail (EINVAL);
 * - COMM_EST: the QP saw its first packet (the sim reports it once);
 * - PATH_MIG: the alternate path is now the primary one (path_mig_state
 *   MIGRATED); SQ_DRAINED, PATH_MIG_ERR, CQ_ERR, SRQ_ERR: the event only;
 * - QP_LAST_WQE_REACHED: only QPs on an SRQ have it (EINVAL otherwise);
 * - SRQ_LIMIT_REACHED: the limit is disarmed (srq_limit 0), as rxe does
 *   when the event fires;
 * - PORT_ERR / PORT_ACTIVE: port 1 goes DOWN / ACTIVE as `ip link set
 *   NETDEV down|up` leaves an rxe port (state DOWN, phys_state DISABLED);
 *   while it is down nothing is sent or received (RC retries and ends in
 *   RETRY_EXC_ERR as its retry_cnt says; UC and UD packets are lost);
 * - CQ overflow: the CQ's next completions are dropped as when it is full
 *   (./datapath.ts pushWc), with rxe's consequences: CQ_ERR, and a QP whose
 *   receive completion was dropped goes to ERR (a send completion's QP does not);
 * - DEVICE_FATAL: every context gets the event, the device is lost (every
 *   verb but destroy answers EIO) and leaves the device list, as a
 *   hot-unplug does.
 * Port and device faults reach every context of the device: they need
 * {@link SimDevice.deviceFaults} (EPERM otherwise).
 */
import type { AsyncEventType, CqRef } from '../abi.js';
import { Errno, VerbsError } from '../errno.js';
import { AFFILIATED_EVENTS, PORT_EVENTS, type FaultInjector, type FaultTarget, type PortEventType } from '../faults.js';
import { enterError } from './datapath.js';
import { SimCq, SimQp, SimSrq } from './objects.js';
import type { SimContext } from './context.js';

const { EINVAL, EIO, EPERM } = Errno;

/** The sim's devices have one port. */
const PORT = 1;

export class SimFaults implements FaultInjector {
  constructor(private readonly ctx: SimContext) {}

  get deviceFaults(): boolean {
    return this.ctx.device.deviceFaults;
  }

  private live(call: string): void {
    if (this.ctx.device.lost) throw new VerbsError(call, EIO);
  }

  private deviceWide(call: string): void {
    this.live(call);
    if (!this.deviceFaults) {
      throw new VerbsError(call, EPERM, `${call}: port and device faults reach every session on ${this.ctx.device.name}: only a daemon started with --device sim allows them`);
    }
  }

  async objectEvent(target: FaultTarget, type: AsyncEventType): Promise<void> {
    const call = 'sim_fault.raise_event';
    this.live(call);
    const o: unknown = target;
    if (!(o instanceof SimQp || o instanceof SimCq || o instanceof SimSrq) || o.ctx !== this.ctx || o.dead) {
      throw new VerbsError(call, EINVAL, `${call}: not a live QP, CQ or SRQ of this context`);
    }
    const allowed: readonly AsyncEventType[] = AFFILIATED_EVENTS[o.kind];
    if (!allowed.includes(type)) throw new VerbsError(call, EINVAL, `${call}: ${type} does not name a ${o.kind} (${o.kind} events: ${allowed.join(', ')})`);
    if (o instanceof SimQp) {
      switch (type) {
        case 'QP_FATAL':
        case 'QP_REQ_ERR':
        case 'QP_ACCESS_ERR':
          if (o.state === 'RESET') throw new VerbsError(call, EINVAL, `${call}: a QP in RESET has no work queue to fail`);
          enterError(o, true);
          break;
        case 'COMM_EST':
          o.commEst = true;
          break;
        case 'PATH_MIG':
          o.attr.path_mig_state = 0; // IBV_MIG_MIGRATED
          break;
        case 'QP_LAST_WQE_REACHED':
          if (!o.srq) throw new VerbsError(call, EINVAL, `${call}: only a QP on an SRQ reaches its last WQE`);
          break;
        default:
          break;
      }
    } else if (o instanceof SimSrq && type === 'SRQ_LIMIT_REACHED') {
      o.limit = 0;
    }
    this.ctx.emit({ kind: 'async', type, tag: o.tag, port: null });
  }

  async portEvent(port: number, type: PortEventType): Promise<void> {
    const call = 'sim_fault.port_event';
    this.deviceWide(call);
    if (port !== PORT) throw new VerbsError(call, EINVAL, `${call}: ${this.ctx.device.name} has port ${PORT} only`);
    if (!PORT_EVENTS.includes(type)) throw new VerbsError(call, EINVAL, `${call}: ${String(type)} is not a port event`);
    const d = this.ctx.device;
    if (type === 'PORT_ERR' || type === 'PORT_ACTIVE') {
      const active = type === 'PORT_ACTIVE';
      // The kernel raises the event on a change of state only.
      if (d.portActive === active) return;
      d.portActive = active;
    }
    for (const c of d.contexts) c.emit({ kind: 'async', type, tag: null, port });
  }

  async deviceFatal(): Promise<void> {
    this.deviceWide('sim_fault.device_fatal');
    // The device's loss: each context gets DEVICE_FATAL and device_lost (SimContext.deviceLost).
    this.ctx.device.lose();
  }

  async overflowCq(ref: CqRef, count: number): Promise<void> {
    const call = 'sim_fault.overflow_cq';
    this.live(call);
    const cq: unknown = ref;
    if (!(cq instanceof SimCq) || cq.ctx !== this.ctx || cq.dead) throw new VerbsError(call, EINVAL, `${call}: not a live CQ of this context`);
    if (!Number.isInteger(count) || count < 1) throw new VerbsError(call, EINVAL, `${call}: count ${count} is not a positive integer`);
    cq.dropNext = count;
    // Each injected overflow is an episode of its own: it raises CQ_ERR once.
    cq.overflowed = false;
  }
}
