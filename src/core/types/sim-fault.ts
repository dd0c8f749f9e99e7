/**
 * Driver-specific: the simulated device's fault injector (the namespace bit
 * DRIVER_NAMESPACE, as the kernel's driver objects behind
 * UVERBS_API_NS_FLAG). It exists only on devices whose context has a fault
 * injector (src/verbs/faults.ts; the sim: src/verbs/sim/faults.ts):
 * Describe lists it there alone, and creating it elsewhere answers
 * UNIMPLEMENTED like any type a device lacks.
 *
 * A session hurts only its own objects: every handle it names resolves in
 * the caller's session (another session's object is NOT_FOUND). Port and
 * device faults reach every session on the device, so the sim allows them
 * only on a daemon started with `--device sim` (PERMISSION_DENIED, errno
 * EPERM, otherwise). Every method takes the injector's write lock, so each
 * injection is audited like any mutating verb. docs/fault-injection.md has
 * the whole contract.
 */
import { ASYNC_EVENT_NAMES, type AsyncEventType, type ObjectRef } from '../../verbs/abi.js';
import type { DeviceContext } from '../../verbs/backend.js';
import { Errno, VerbsError } from '../../verbs/errno.js';
import { AFFILIATED_EVENTS, PORT_EVENTS, type FaultInjector, type FaultTarget, type PortEventType } from '../../verbs/faults.js';
import { DRIVER_NAMESPACE, attr, indexedNames, out, typed, type ObjectHandle, type ObjectTypeSpec } from './spec.js';

declare module './spec.js' {
  interface RefTypes {
    sim_fault: ObjectRef;
  }
}

const t = typed<ObjectRef>();

/** enum ibv_event_type by name (the values of verbs.h). */
const EVENT_NAMES = indexedNames(ASYNC_EVENT_NAMES);

/** The injector of the object's context; a context without one never got a `sim_fault` object. */
function injector(dev: DeviceContext, call: string): FaultInjector {
  if (!dev.faults) throw new VerbsError(call, Errno.EOPNOTSUPP, `${call}: device ${dev.name} (${dev.provider}) has no fault injector`);
  return dev.faults;
}

const PORT_ATTR = attr('port', 1, 'u32', { min: 1, max: 255, doc: 'the port (default 1)' });

const AFFILIATED: ReadonlyMap<AsyncEventType, string> = new Map(
  Object.entries(AFFILIATED_EVENTS).flatMap(([kind, evs]) => evs.map((e): [AsyncEventType, string] => [e, kind])),
);
const PORT_EVENT_SET: ReadonlySet<AsyncEventType> = new Set(PORT_EVENTS);
const isPortEvent = (type: AsyncEventType): type is PortEventType => PORT_EVENT_SET.has(type);

/** Raises `type` as the device would: on `target`, on `port`, or on the whole device. */
async function raise(dev: DeviceContext, type: AsyncEventType, target: ObjectHandle<FaultTarget> | undefined, port: number | undefined): Promise<void> {
  const call = 'sim_fault.raise_event';
  const f = injector(dev, call);
  const kind = AFFILIATED.get(type);
  if (kind !== undefined) {
    if (!target) throw new VerbsError(call, Errno.EINVAL, `${call}: ${type} names a ${kind}: give target`);
    if (port !== undefined) throw new VerbsError(call, Errno.EINVAL, `${call}: ${type} names an object, not a port`);
    if (target.type !== kind) throw new VerbsError(call, Errno.EINVAL, `${call}: ${type} names a ${kind}, target is a ${target.type}`);
    return f.objectEvent(target.ref, type);
  }
  if (target) throw new VerbsError(call, Errno.EINVAL, `${call}: ${type} is not an event of an object`);
  if (isPortEvent(type)) return f.portEvent(port ?? 1, type);
  if (type === 'DEVICE_FATAL') {
    if (port !== undefined) throw new VerbsError(call, Errno.EINVAL, `${call}: DEVICE_FATAL names the device, not a port`);
    return f.deviceFatal();
  }
  // WQ_FATAL: the broker has no work queue objects.
  throw new VerbsError(call, Errno.EINVAL, `${call}: ${type} names an object type this device does not have`);
}

/** Fault injector of the simulated device (driver-specific). */
export const simFault: ObjectTypeSpec = {
  name: 'sim_fault',
  id: DRIVER_NAMESPACE | 0,
  doc: 'fault injector of the simulated device (driver-specific): port down/up, async events on your objects, CQ overflow, device fatal',
  driver: true,
  availableOn: (dev) => dev.faults !== undefined,
  create: t.create({
    doc: 'a fault injector on the device (sim only)',
    attrs: [],
    out: [out('device_faults', 10, 'bool', { doc: 'whether port and device faults are allowed here (a daemon started with --device sim)' })],
    run: async (c) => {
      const f = injector(c.dev, 'sim_fault.create');
      const ref: ObjectRef = { tag: c.tag };
      return { ref, attrs: { device_faults: f.deviceFaults } };
    },
  }),
  destroy: t.destroy(async () => {}),
  methods: {
    raise_event: t.method({
      id: DRIVER_NAMESPACE | 16,
      doc: 'raise an async event as the device would, with its effects: on a QP, CQ or SRQ of yours (`target`), on a port, or DEVICE_FATAL',
      lock: 'write',
      attrs: [
        attr('event', 1, 'enum', { mandatory: true, names: EVENT_NAMES, doc: 'enum ibv_event_type' }),
        attr('target', 2, 'handle', { types: ['qp', 'cq', 'srq'], access: 'write', doc: 'the object an affiliated event names' }),
        { ...PORT_ATTR, id: 3, doc: 'the port a port event names (default 1)' },
      ],
      run: async (c) => {
        await raise(c.dev, c.attrs.event, c.attrs.target, c.attrs.port);
        return {};
      },
    }),
    port_down: t.method({
      id: DRIVER_NAMESPACE | 17,
      doc: 'take the port DOWN (PORT_ERR to every session on the device), as `ip link set NETDEV down` does to an rxe port',
      lock: 'write',
      attrs: [PORT_ATTR],
      run: async (c) => {
        await injector(c.dev, 'sim_fault.port_down').portEvent(portOf(c.attrs), 'PORT_ERR');
        return {};
      },
    }),
    port_up: t.method({
      id: DRIVER_NAMESPACE | 18,
      doc: 'bring the port back ACTIVE (PORT_ACTIVE to every session on the device)',
      lock: 'write',
      attrs: [PORT_ATTR],
      run: async (c) => {
        await injector(c.dev, 'sim_fault.port_up').portEvent(portOf(c.attrs), 'PORT_ACTIVE');
        return {};
      },
    }),
    device_fatal: t.method({
      id: DRIVER_NAMESPACE | 19,
      doc: 'DEVICE_FATAL: every session on the device is told, its objects are released children-first and the device is lost',
      lock: 'write',
      attrs: [],
      run: async (c) => {
        await injector(c.dev, 'sim_fault.device_fatal').deviceFatal();
        return {};
      },
    }),
    overflow_cq: t.method({
      id: DRIVER_NAMESPACE | 20,
      doc: 'make a CQ of yours overflow: its next `count` completions are dropped as by a full CQ (CQ_ERR)',
      lock: 'write',
      attrs: [
        attr('cq', 1, 'handle', { mandatory: true, types: ['cq'], access: 'write' }),
        attr('count', 2, 'u32', { min: 1, max: 1 << 20, doc: 'completions to drop (default 1)' }),
      ],
      run: async (c) => {
        await injector(c.dev, 'sim_fault.overflow_cq').overflowCq(c.attrs.cq.ref, c.attrs.count ?? 1);
        return {};
      },
    }),
  },
};

function portOf(v: { readonly port?: number }): number {
  return v.port ?? 1;
}
