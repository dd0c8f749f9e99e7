/**
 * A kubelet stand-in: what a real kubelet does to a device plugin, over the
 * real protos (proto/kubelet/) on temp sockets. It serves Registration on
 * DIR/device-plugins/kubelet.sock and PodResourcesLister on
 * DIR/pod-resources/kubelet.sock; on Register it dials the plugin's endpoint,
 * asks its options and follows ListAndWatch; tests then Allocate, "start"
 * pods (list them in pod-resources, PreStartContainer) and delete them, and
 * restart the kubelet as a real one does (every socket in device-plugins/
 * deleted, kubelet.sock made anew).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { devicePluginApi, podResourcesApi } from '../../../src/k8s/proto.js';
import type { DevicePluginClient } from '../../../src/k8s/gen/deviceplugin/v1beta1/DevicePlugin.js';
import type { RegisterRequest__Output } from '../../../src/k8s/gen/deviceplugin/v1beta1/RegisterRequest.js';
import type { Device__Output } from '../../../src/k8s/gen/deviceplugin/v1beta1/Device.js';
import type { DevicePluginOptions__Output } from '../../../src/k8s/gen/deviceplugin/v1beta1/DevicePluginOptions.js';
import type { ContainerAllocateResponse__Output } from '../../../src/k8s/gen/deviceplugin/v1beta1/ContainerAllocateResponse.js';
import type { PodResources } from '../../../src/k8s/gen/podresources/v1/PodResources.js';

export interface StandInPod {
  namespace: string;
  name: string;
  container: string;
  resource: string;
  ids: string[];
}

export interface Registered {
  request: RegisterRequest__Output;
  options: DevicePluginOptions__Output;
  at: number;
}

function bind(server: grpc.Server, p: string): Promise<void> {
  return new Promise((resolve, reject) => server.bindAsync(`unix:${p}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
}

export class KubeletStandIn extends EventEmitter {
  readonly pluginDir: string;
  readonly podResourcesDir: string;
  readonly kubeletSocket: string;
  readonly podResourcesSocket: string;
  /** Every registration, oldest first. */
  readonly registrations: Registered[] = [];
  /** The device lists ListAndWatch sent, oldest first (of the current plugin connection). */
  readonly lists: Device__Output[][] = [];
  /** Set: Register answers this error (a kubelet refusing the plugin). */
  refuse: string | null = null;
  private reg: grpc.Server | null = null;
  private pr: grpc.Server | null = null;
  private plugin: DevicePluginClient | null = null;
  private watch: grpc.ClientReadableStream<unknown> | null = null;
  readonly pods: StandInPod[] = [];

  constructor(readonly dir: string) {
    super();
    this.pluginDir = path.join(dir, 'device-plugins');
    this.podResourcesDir = path.join(dir, 'pod-resources');
    this.kubeletSocket = path.join(this.pluginDir, 'kubelet.sock');
    this.podResourcesSocket = path.join(this.podResourcesDir, 'kubelet.sock');
    fs.mkdirSync(this.pluginDir, { recursive: true });
    fs.mkdirSync(this.podResourcesDir, { recursive: true });
  }

  async start(): Promise<void> {
    await this.startRegistration();
    await this.startPodResources();
  }

  async startRegistration(): Promise<void> {
    const reg = new grpc.Server();
    reg.addService(devicePluginApi().v1beta1.Registration.service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (this.refuse) {
          cb({ code: grpc.status.INVALID_ARGUMENT, details: this.refuse });
          return;
        }
        cb(null, {});
        void this.connectPlugin(call.request).catch((e: unknown) => this.emit('plugin-error', e));
      },
    });
    await bind(reg, this.kubeletSocket);
    this.reg = reg;
  }

  async startPodResources(): Promise<void> {
    const pr = new grpc.Server();
    const podsOut = (): PodResources[] => this.pods.map((p) => ({
      name: p.name, namespace: p.namespace,
      containers: [{ name: p.container, devices: [{ resource_name: p.resource, device_ids: p.ids }] }],
    }));
    pr.addService(podResourcesApi().v1.PodResourcesLister.service, {
      List: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { pod_resources: podsOut() }),
      GetAllocatableResources: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => {
        const last = this.lists[this.lists.length - 1] ?? [];
        const resource = this.registrations[this.registrations.length - 1]?.request.resource_name ?? '';
        cb(null, { devices: [{ resource_name: resource, device_ids: last.map((d) => d.ID) }] });
      },
      Get: (call: grpc.ServerUnaryCall<{ pod_name: string; pod_namespace: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const p = podsOut().find((x) => x.name === call.request.pod_name && x.namespace === call.request.pod_namespace);
        if (!p) cb({ code: grpc.status.NOT_FOUND, details: `pod ${call.request.pod_namespace}/${call.request.pod_name} not found` });
        else cb(null, { pod_resources: p });
      },
    });
    await bind(pr, this.podResourcesSocket);
    this.pr = pr;
  }

  /** Stops serving pod-resources (the socket removed): the plugin cannot learn pods. */
  stopPodResources(): void {
    this.pr?.forceShutdown();
    this.pr = null;
    fs.rmSync(this.podResourcesSocket, { force: true });
  }

  private async connectPlugin(req: RegisterRequest__Output): Promise<void> {
    this.dropPlugin();
    const Plugin = devicePluginApi().v1beta1.DevicePlugin;
    const client = new Plugin(`unix:${path.join(this.pluginDir, req.endpoint)}`, grpc.credentials.createInsecure());
    this.plugin = client;
    const options = await new Promise<DevicePluginOptions__Output>((resolve, reject) =>
      client.GetDevicePluginOptions({}, { deadline: Date.now() + 5000 }, (e, r) => (e || !r ? reject(e ?? new Error('no answer')) : resolve(r))));
    this.lists.length = 0;
    const w = client.ListAndWatch({});
    this.watch = w;
    w.on('data', (r: { devices: Device__Output[] }) => {
      this.lists.push(r.devices);
      this.emit('list', r.devices);
    });
    w.on('error', () => {});
    this.registrations.push({ request: req, options, at: Date.now() });
    this.emit('registered', req);
  }

  private dropPlugin(): void {
    this.watch?.cancel();
    this.watch = null;
    this.plugin?.close();
    this.plugin = null;
  }

  /** The plugin's latest device list. */
  get devices(): Device__Output[] {
    return this.lists[this.lists.length - 1] ?? [];
  }

  private client(): DevicePluginClient {
    if (!this.plugin) throw new Error('no plugin registered');
    return this.plugin;
  }

  allocate(...containers: string[][]): Promise<ContainerAllocateResponse__Output[]> {
    return new Promise((resolve, reject) => this.client().Allocate({ container_requests: containers.map((ids) => ({ devices_ids: ids })) }, { deadline: Date.now() + 10_000 },
      (e, r) => (e || !r ? reject(e ?? new Error('no answer')) : resolve(r.container_responses))));
  }

  preStart(ids: string[]): Promise<void> {
    return new Promise((resolve, reject) => this.client().PreStartContainer({ devices_ids: ids }, { deadline: Date.now() + 10_000 }, (e) => (e ? reject(e) : resolve())));
  }

  preferred(available: string[], must: string[], size: number): Promise<string[]> {
    return new Promise((resolve, reject) => this.client().GetPreferredAllocation({
      container_requests: [{ available_deviceIDs: available, must_include_deviceIDs: must, allocation_size: size }],
    }, { deadline: Date.now() + 5000 }, (e, r) => (e || !r ? reject(e ?? new Error('no answer')) : resolve(r.container_responses[0]?.deviceIDs ?? []))));
  }

  /** What a kubelet does for one container: Allocate, list the pod, PreStartContainer. */
  async admit(pod: Omit<StandInPod, 'resource'>): Promise<ContainerAllocateResponse__Output> {
    const [resp] = await this.allocate(pod.ids);
    this.pods.push({ ...pod, resource: this.registrations[this.registrations.length - 1]!.request.resource_name });
    await this.preStart(pod.ids);
    return resp!;
  }

  deletePod(namespace: string, name: string): void {
    const i = this.pods.findIndex((p) => p.namespace === namespace && p.name === name);
    if (i >= 0) this.pods.splice(i, 1);
  }

  /**
   * A kubelet restart: its servers stop, every socket in device-plugins/ is
   * deleted (the plugin's too), then kubelet.sock and pod-resources are served anew.
   */
  async restart(): Promise<void> {
    this.dropPlugin();
    this.reg?.forceShutdown();
    this.reg = null;
    this.stopPodResources();
    for (const f of fs.readdirSync(this.pluginDir)) {
      const p = path.join(this.pluginDir, f);
      if (fs.lstatSync(p).isSocket()) fs.unlinkSync(p);
    }
    await this.start();
  }

  close(): void {
    this.dropPlugin();
    this.reg?.forceShutdown();
    this.pr?.forceShutdown();
    this.reg = this.pr = null;
  }
}
