/**
 * The kubelet's APIs (proto/kubelet/): the device plugin API v1beta1 and the
 * pod resources API v1, loaded with the same options as the broker's own
 * (the generated types under gen/ assume them).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_ROOT } from '../wire/proto.js';
import type { ProtoGrpcType as DevicePluginProto } from './gen/deviceplugin/api.js';
import type { ProtoGrpcType as PodResourcesProto } from './gen/podresources/api.js';

export const DEVICE_PLUGIN_PROTO = 'kubelet/deviceplugin/v1beta1/api.proto';
export const POD_RESOURCES_PROTO = 'kubelet/podresources/v1/api.proto';

/** The device plugin API version a plugin names in RegisterRequest. */
export const DEVICE_PLUGIN_VERSION = 'v1beta1';
/** Device health values of ListAndWatch. */
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';

let dp: DevicePluginProto | undefined;
let pr: PodResourcesProto | undefined;

function load(file: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] }));
}

/** `devicePluginApi().v1beta1.Registration`, `.DevicePlugin` and the messages. */
export function devicePluginApi(): DevicePluginProto {
  dp ??= load(DEVICE_PLUGIN_PROTO) as unknown as DevicePluginProto;
  return dp;
}

/** `podResourcesApi().v1.PodResourcesLister` and the messages. */
export function podResourcesApi(): PodResourcesProto {
  pr ??= load(POD_RESOURCES_PROTO) as unknown as PodResourcesProto;
  return pr;
}
