// Original file: proto/rdmabroker/v1/broker.proto


export interface DeviceSummary {
  'name'?: (string);
  /**
   * "sim" for the simulated device, "ibverbs" for a kernel device.
   */
  'backend'?: (string);
  'node_guid'?: (string);
  'port_count'?: (number);
  /**
   * "live", or "lost" after the device went away.
   */
  'state'?: (string);
  'transport'?: (string);
  'provider'?: (string);
}

export interface DeviceSummary__Output {
  'name': (string);
  /**
   * "sim" for the simulated device, "ibverbs" for a kernel device.
   */
  'backend': (string);
  'node_guid': (string);
  'port_count': (number);
  /**
   * "live", or "lost" after the device went away.
   */
  'state': (string);
  'transport': (string);
  'provider': (string);
}
