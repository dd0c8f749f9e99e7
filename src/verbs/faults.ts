/**
 * Fault injection: what a device context offers when it can fake the
 * failures a real device has (the simulated device, src/verbs/sim/faults.ts).
 * The driver-specific object type `sim_fault` (src/core/types/sim-fault.ts)
 * calls it; a context without it (libibverbs) has no such type.
 *
 * Each fault has the effects the kernel's own event has where it has them
 * (QP_FATAL moves the QP to ERR and flushes it; PORT_ERR takes the port
 * DOWN; DEVICE_FATAL loses the device), then raises the async event exactly
 * as the device would: on the context that owns the object, or, for port and
 * device events, on every context of the device.
 */
import type { AsyncEventType, CqRef, QpRef, SrqRef } from './abi.js';

/** The async events that name a QP, a CQ or an SRQ (the kernel's affiliated events), by the object they name. */
export const AFFILIATED_EVENTS = {
  qp: ['QP_FATAL', 'QP_REQ_ERR', 'QP_ACCESS_ERR', 'COMM_EST', 'SQ_DRAINED', 'PATH_MIG', 'PATH_MIG_ERR', 'QP_LAST_WQE_REACHED'],
  cq: ['CQ_ERR'],
  srq: ['SRQ_ERR', 'SRQ_LIMIT_REACHED'],
} as const satisfies Record<string, readonly AsyncEventType[]>;

/** The unaffiliated events that name a port. */
export const PORT_EVENTS = ['PORT_ACTIVE', 'PORT_ERR', 'LID_CHANGE', 'PKEY_CHANGE', 'SM_CHANGE', 'CLIENT_REREGISTER', 'GID_CHANGE'] as const satisfies readonly AsyncEventType[];
export type PortEventType = (typeof PORT_EVENTS)[number];

/** The object an affiliated event names. */
export type FaultTarget = QpRef | CqRef | SrqRef;

export interface FaultInjector {
  /**
   * Whether faults that reach beyond the caller's own objects (a port, the
   * device: every context on it sees them) are allowed on this device.
   * When false, {@link portEvent} and {@link deviceFatal} answer EPERM.
   */
  readonly deviceFaults: boolean;
  /**
   * An affiliated event on an object of this context, with its side effects
   * (EINVAL: an event that does not name this kind of object).
   */
  objectEvent(target: FaultTarget, type: AsyncEventType): Promise<void>;
  /**
   * A port event: PORT_ERR takes the port DOWN, PORT_ACTIVE brings it back
   * (each only when the port is not already there: EALREADY); the others
   * change nothing. Every context of the device gets the event.
   */
  portEvent(port: number, type: PortEventType): Promise<void>;
  /** DEVICE_FATAL on every context of the device, which is then lost (every verb but destroy answers EIO). */
  deviceFatal(): Promise<void>;
  /**
   * Makes the CQ overflow: the next `count` completions it would queue are
   * dropped as by a full CQ (CQ_ERR once, and what the device does to the
   * QP that lost its completion: as rxe, a lost receive completion moves the
   * receiving QP to ERR, a lost send completion changes nothing).
   */
  overflowCq(cq: CqRef, count: number): Promise<void>;
}
