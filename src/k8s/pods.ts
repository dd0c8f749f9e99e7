/**
 * Which pod holds which slot: the kubelet's pod-resources API (List), asked
 * on a timer and on demand. v1 of that API has no watch, so this polls; a
 * failed call (the kubelet restarting, the socket missing) yields an error
 * and the caller keeps what it knew: nobody is evicted because the kubelet
 * could not be asked.
 */
import * as grpc from '@grpc/grpc-js';
import { podResourcesApi } from './proto.js';
import type { PodResourcesListerClient } from './gen/podresources/v1/PodResourcesLister.js';
import type { ListPodResourcesResponse__Output } from './gen/podresources/v1/ListPodResourcesResponse.js';
import type { PodIdentity } from './state.js';

/** Bounds on what one List answer may make this daemon walk. */
const MAX_PODS = 20_000;
const MAX_CONTAINERS = 64;
const MAX_DEVICE_ENTRIES = 64;

/** The slots of `resource` named in a List answer, each with its pod and container. */
export function slotOwners(r: ListPodResourcesResponse__Output, resource: string, isSlot: (id: string) => boolean): Map<string, PodIdentity> {
  const out = new Map<string, PodIdentity>();
  for (const p of r.pod_resources.slice(0, MAX_PODS)) {
    for (const c of p.containers.slice(0, MAX_CONTAINERS)) {
      for (const d of c.devices.slice(0, MAX_DEVICE_ENTRIES)) {
        if (d.resource_name !== resource) continue;
        for (const id of d.device_ids) {
          if (isSlot(id) && !out.has(id)) out.set(id, { namespace: p.namespace, name: p.name, container: c.name });
        }
      }
    }
  }
  return out;
}

export class PodResources {
  private client: PodResourcesListerClient | null = null;

  constructor(private readonly socket: string) {}

  /** One List call (deadline `timeoutMs`); rejects with a one-line reason. */
  list(timeoutMs = 2000): Promise<ListPodResourcesResponse__Output> {
    const Lister = podResourcesApi().v1.PodResourcesLister;
    this.client ??= new Lister(`unix:${this.socket}`, grpc.credentials.createInsecure());
    const client = this.client;
    return new Promise((resolve, reject) => {
      client.List({}, { deadline: Date.now() + timeoutMs }, (e, r) => {
        if (e || !r) {
          // A fresh channel next time: the kubelet re-creates its socket when it restarts,
          // and an old channel would wait out its reconnect backoff.
          this.reset();
          reject(new Error(`pod-resources List at ${this.socket}: ${e?.details || e?.message || 'no answer'}`));
          return;
        }
        resolve(r);
      });
    });
  }

  private reset(): void {
    this.client?.close();
    this.client = null;
  }

  close(): void {
    this.reset();
  }
}
