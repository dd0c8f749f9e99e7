// Original file: proto/rdmabroker/v1/broker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeDeviceRequest as _rdmabroker_v1_DescribeDeviceRequest, DescribeDeviceRequest__Output as _rdmabroker_v1_DescribeDeviceRequest__Output } from '../../rdmabroker/v1/DescribeDeviceRequest';
import type { DescribeDeviceResponse as _rdmabroker_v1_DescribeDeviceResponse, DescribeDeviceResponse__Output as _rdmabroker_v1_DescribeDeviceResponse__Output } from '../../rdmabroker/v1/DescribeDeviceResponse';
import type { ListDevicesRequest as _rdmabroker_v1_ListDevicesRequest, ListDevicesRequest__Output as _rdmabroker_v1_ListDevicesRequest__Output } from '../../rdmabroker/v1/ListDevicesRequest';
import type { ListDevicesResponse as _rdmabroker_v1_ListDevicesResponse, ListDevicesResponse__Output as _rdmabroker_v1_ListDevicesResponse__Output } from '../../rdmabroker/v1/ListDevicesResponse';
import type { QueryDeviceRequest as _rdmabroker_v1_QueryDeviceRequest, QueryDeviceRequest__Output as _rdmabroker_v1_QueryDeviceRequest__Output } from '../../rdmabroker/v1/QueryDeviceRequest';
import type { QueryDeviceResponse as _rdmabroker_v1_QueryDeviceResponse, QueryDeviceResponse__Output as _rdmabroker_v1_QueryDeviceResponse__Output } from '../../rdmabroker/v1/QueryDeviceResponse';

export interface DeviceServiceClient extends grpc.Client {
  /**
   * Discovery: the object types, methods and attributes this device supports
   * (no device: those of the daemon, see DescribeDeviceRequest).
   */
  Describe(argument: _rdmabroker_v1_DescribeDeviceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _rdmabroker_v1_DescribeDeviceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _rdmabroker_v1_DescribeDeviceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  Describe(argument: _rdmabroker_v1_DescribeDeviceRequest, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Discovery: the object types, methods and attributes this device supports
   * (no device: those of the daemon, see DescribeDeviceRequest).
   */
  describe(argument: _rdmabroker_v1_DescribeDeviceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _rdmabroker_v1_DescribeDeviceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _rdmabroker_v1_DescribeDeviceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  describe(argument: _rdmabroker_v1_DescribeDeviceRequest, callback: grpc.requestCallback<_rdmabroker_v1_DescribeDeviceResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lists the devices the daemon serves.
   */
  List(argument: _rdmabroker_v1_ListDevicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _rdmabroker_v1_ListDevicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _rdmabroker_v1_ListDevicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _rdmabroker_v1_ListDevicesRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists the devices the daemon serves.
   */
  list(argument: _rdmabroker_v1_ListDevicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _rdmabroker_v1_ListDevicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _rdmabroker_v1_ListDevicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _rdmabroker_v1_ListDevicesRequest, callback: grpc.requestCallback<_rdmabroker_v1_ListDevicesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Device attributes and limits, and every port with its GID table.
   */
  Query(argument: _rdmabroker_v1_QueryDeviceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryDeviceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryDeviceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  Query(argument: _rdmabroker_v1_QueryDeviceRequest, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Device attributes and limits, and every port with its GID table.
   */
  query(argument: _rdmabroker_v1_QueryDeviceRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryDeviceRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryDeviceRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  query(argument: _rdmabroker_v1_QueryDeviceRequest, callback: grpc.requestCallback<_rdmabroker_v1_QueryDeviceResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface DeviceServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Discovery: the object types, methods and attributes this device supports
   * (no device: those of the daemon, see DescribeDeviceRequest).
   */
  Describe: grpc.handleUnaryCall<_rdmabroker_v1_DescribeDeviceRequest__Output, _rdmabroker_v1_DescribeDeviceResponse>;
  
  /**
   * Lists the devices the daemon serves.
   */
  List: grpc.handleUnaryCall<_rdmabroker_v1_ListDevicesRequest__Output, _rdmabroker_v1_ListDevicesResponse>;
  
  /**
   * Device attributes and limits, and every port with its GID table.
   */
  Query: grpc.handleUnaryCall<_rdmabroker_v1_QueryDeviceRequest__Output, _rdmabroker_v1_QueryDeviceResponse>;
  
}

export interface DeviceServiceDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_rdmabroker_v1_DescribeDeviceRequest, _rdmabroker_v1_DescribeDeviceResponse, _rdmabroker_v1_DescribeDeviceRequest__Output, _rdmabroker_v1_DescribeDeviceResponse__Output>
  List: MethodDefinition<_rdmabroker_v1_ListDevicesRequest, _rdmabroker_v1_ListDevicesResponse, _rdmabroker_v1_ListDevicesRequest__Output, _rdmabroker_v1_ListDevicesResponse__Output>
  Query: MethodDefinition<_rdmabroker_v1_QueryDeviceRequest, _rdmabroker_v1_QueryDeviceResponse, _rdmabroker_v1_QueryDeviceRequest__Output, _rdmabroker_v1_QueryDeviceResponse__Output>
}
