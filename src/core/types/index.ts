/**
 * The object type table. Adding an object type is adding one file and one
 * line here. Ids are a wire contract (they follow UVERBS_OBJECT_* where one
 * exists): append, never renumber.
 */
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

export const OBJECT_TYPES: readonly ObjectTypeSpec[] = [device, port, ah, pd, cq, compChannel, mw, mr, qp, srq, xrcd, flow];

export const TYPES_BY_NAME: ReadonlyMap<string, ObjectTypeSpec> = new Map(OBJECT_TYPES.map((t) => [t.name, t]));

export type { ObjectTypeSpec } from './spec.js';
