/**
 * The object type table. Adding an object type is adding one file and one
 * line here.
 *
 * Ids are a wire contract (DescribeDevice's ObjectTypeInfo.id): append, never
 * renumber. They are the broker's own numbering, NOT the kernel's
 * `enum uverbs_default_objects` (the kernel's uAPI header
 * rdma/ib_user_ioctl_cmds.h, /usr/include/rdma/ with linux-libc-dev:
 * DEVICE 0, PD 1, COMP_CHANNEL 2, CQ 3, QP 4, SRQ 5, AH 6, MR 7, MW 8, FLOW 9,
 * XRCD 10, RWQ_IND_TBL 11, WQ 12, FLOW_ACTION 13, DM 14, COUNTERS 15,
 * ASYNC_EVENT 16): only device (0) and mr (7) coincide. The broker has a
 * type the kernel has no object for (port, 1), and its ids were published
 * before anyone checked them against the kernel's; renumbering now would
 * break every client that kept one, for no gain, since requests name types by
 * string. Each type's file names the kernel object it brokers
 * (UVERBS_OBJECT_*); test/unit/core/type-ids.test.ts pins the ids.
 * Driver-specific types carry DRIVER_NAMESPACE (0x1000), as the kernel's
 * UVERBS_API_NS_FLAG.
 */
import type { DeviceContext, OptionalOp } from '../../verbs/backend.js';
import type { ObjectTypeSpec } from './spec.js';
import { device, port } from './device.js';
import { pd } from './pd.js';
import { mr } from './mr.js';
import { mw } from './mw.js';
import { compChannel } from './comp-channel.js';
import { cq } from './cq.js';
import { srq } from './srq.js';
import { qp } from './qp.js';
import { ah } from './ah.js';
import { xrcd } from './xrcd.js';
import { flow } from './flow.js';
import { dm, dmMr } from './dm.js';
// Driver-specific types (ids with DRIVER_NAMESPACE; each says where it exists with availableOn).
import { simFault } from './sim-fault.js';

export const OBJECT_TYPES: readonly ObjectTypeSpec[] = [
  device, port, ah, pd, cq, compChannel, mw, mr, qp, srq, xrcd, flow, dm, dmMr,
  // driver-specific
  simFault,
];

export const TYPES_BY_NAME: ReadonlyMap<string, ObjectTypeSpec> = new Map(OBJECT_TYPES.map((t) => [t.name, t]));

/**
 * The verbs a device cannot serve, as "type.method": those whose declared
 * backend ops (OpsSpec) the device's context does not implement. Describe
 * reports them unsupported and the broker refuses them, so both follow
 * from the backend's ops and agree with what a call would answer.
 */
export function unsupportedMethods(dev: DeviceContext): Set<string> {
  const out = new Set<string>();
  const check = (t: ObjectTypeSpec, method: string, ops: readonly OptionalOp[] | undefined): void => {
    if (ops?.some((op) => !dev.implemented(op))) out.add(`${t.name}.${method}`);
  };
  for (const t of OBJECT_TYPES) {
    check(t, 'create', t.create?.ops);
    check(t, 'query', t.query?.ops);
    check(t, 'modify', t.modify?.ops);
    for (const [name, m] of Object.entries(t.methods)) check(t, name, m.ops);
  }
  return out;
}

export type { ObjectTypeSpec } from './spec.js';
