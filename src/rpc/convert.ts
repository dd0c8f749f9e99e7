/** Core values <-> wire messages. */
import type { BrokerObject, SessionLabels } from '../core/registry.js';
import type { PodRef } from '../wire/gen/rdmabroker/v1/PodRef.js';
import type { Session, SessionEvent } from '../core/sessions.js';
import { toWireMap } from '../wire/values.js';
import type { ObjectInfo } from '../wire/gen/rdmabroker/v1/ObjectInfo.js';
import type { Event } from '../wire/gen/rdmabroker/v1/Event.js';
import type { SessionInfo } from '../wire/gen/rdmabroker/v1/SessionInfo.js';
import type { AttrInfo } from '../wire/gen/rdmabroker/v1/AttrInfo.js';
import type { ObjectTypeInfo } from '../wire/gen/rdmabroker/v1/ObjectTypeInfo.js';
import type { AttrSpec } from '../core/attrs.js';
import { METHOD_IDS, type ObjectTypeSpec } from '../core/types/spec.js';

/** A decimal u64 as a number when it is exact, else the string. */
function u64Out(v: string): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** The pod named by a session's labels (namespace, pod, container), or null. */
export function podRef(labels: SessionLabels | undefined): PodRef | null {
  if (!labels || labels.pod === undefined) return null;
  return { namespace: labels.namespace ?? '', name: labels.pod, container: labels.container ?? '' };
}

export function objectInfo(o: BrokerObject): ObjectInfo {
  return {
    // Handles and times are safe integers: numbers encode without a string parse.
    handle: o.handle,
    type: o.type,
    device: o.device,
    session: o.owner.id,
    tenant: o.owner.tenant,
    user_handle: u64Out(o.userHandle),
    parents: o.parents.map((p) => p.handle),
    created_unix_ms: o.created,
    attrs: toWireMap(o.attrs),
    pod: podRef(o.owner.labels),
  };
}

export function eventOut(seq: number, e: SessionEvent): Event {
  return {
    seq: String(seq),
    kind: e.kind,
    handle: String(e.handle),
    user_handle: e.userHandle,
    event_type: e.eventType,
    device: e.device,
    port: e.port,
    time_unix_ms: String(e.time),
    type: e.type,
  };
}

export function sessionInfo(s: Session, objects: number): SessionInfo {
  return {
    session_id: s.id,
    name: s.name,
    tenant: s.tenant,
    state: s.state,
    object_count: objects,
    created_unix_ms: String(s.created),
    peer: s.opts.peer,
    pod: podRef(s.labels),
    peer_cred: s.peerCred,
  };
}

function attrInfo(a: AttrSpec, dir: 'in' | 'out'): AttrInfo {
  return {
    name: a.name,
    id: a.id,
    kind: a.kind,
    direction: a.dir ?? dir,
    mandatory: a.mandatory ?? false,
    handle_types: a.types ? [...a.types] : [],
    access: a.kind === 'handle' ? a.access ?? 'read' : '',
    names: a.names ? Object.keys(a.names) : [],
    members: (a.members ?? []).map((m) => attrInfo(m, dir)),
    min: a.min !== undefined ? String(a.min) : '',
    max: a.max !== undefined ? String(a.max) : '',
    doc: a.doc ?? '',
  };
}

/** Discovery, generated from the same tables the dispatcher runs on. */
export function typeInfo(t: ObjectTypeSpec, unsupported: ReadonlySet<string>): ObjectTypeInfo {
  const methods: NonNullable<ObjectTypeInfo['methods']> = [];
  const sup = (m: string): boolean => !unsupported.has(`${t.name}.${m}`);
  if (t.create) {
    methods.push({
      name: 'create', id: METHOD_IDS.create, doc: t.create.doc, supported: sup('create'),
      attrs: [...t.create.attrs.map((a) => attrInfo(a, 'in')), ...(t.create.out ?? []).map((a) => attrInfo(a, 'out'))],
    });
  }
  if (t.destroy) methods.push({ name: 'destroy', id: METHOD_IDS.destroy, doc: 'destroy the object (BUSY while others use it)', supported: sup('destroy'), attrs: [] });
  if (t.query) methods.push({ name: 'query', id: METHOD_IDS.query, doc: 'query the object', supported: sup('query'), attrs: (t.query.out ?? []).map((a) => attrInfo(a, 'out')) });
  if (t.modify) methods.push({ name: 'modify', id: METHOD_IDS.modify, doc: 'modify the object', supported: sup('modify'), attrs: t.modify.attrs.map((a) => attrInfo(a, 'in')) });
  for (const [name, m] of Object.entries(t.methods)) {
    methods.push({
      name, id: m.id, doc: m.doc, supported: sup(name),
      attrs: [...m.attrs.map((a) => attrInfo(a, 'in')), ...(m.out ?? []).map((a) => attrInfo(a, 'out'))],
    });
  }
  const parentTypes = new Set<string>();
  for (const a of t.create?.attrs ?? []) if (a.parent) for (const x of a.types ?? []) parentTypes.add(x);
  return {
    name: t.name,
    id: t.id,
    read_only: t.readOnly ?? false,
    methods,
    driver_specific: t.driver ?? false,
    supported: t.readOnly ? true : t.create ? sup('create') : true,
    doc: t.doc,
    parent_types: [...parentTypes],
  };
}
