// Original file: proto/rdmabroker/v1/broker.proto


export interface Gid {
  'index'?: (number);
  'gid'?: (string);
  /**
   * "IB", "RoCE v1", "RoCE v2"
   */
  'type'?: (string);
  'netdev'?: (string);
}

export interface Gid__Output {
  'index': (number);
  'gid': (string);
  /**
   * "IB", "RoCE v1", "RoCE v2"
   */
  'type': (string);
  'netdev': (string);
}
