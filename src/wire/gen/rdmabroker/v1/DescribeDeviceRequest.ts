// Original file: proto/rdmabroker/v1/broker.proto


export interface DescribeDeviceRequest {
  /**
   * Empty: the daemon as a whole. Its types are those that exist on at least
   * one of its devices (a driver-specific type such as sim_fault only when
   * some device has it); a method is unsupported only where no device with
   * its type serves it; supports_import when some device imports.
   */
  'device'?: (string);
}

export interface DescribeDeviceRequest__Output {
  /**
   * Empty: the daemon as a whole. Its types are those that exist on at least
   * one of its devices (a driver-specific type such as sim_fault only when
   * some device has it); a method is unsupported only where no device with
   * its type serves it; supports_import when some device imports.
   */
  'device': (string);
}
