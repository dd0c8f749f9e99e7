// Original file: proto/rdmabroker/v1/broker.proto


/**
 * A container of a Kubernetes pod, as the kubelet's pod-resources API names it.
 */
export interface PodRef {
  'namespace'?: (string);
  'name'?: (string);
  'container'?: (string);
}

/**
 * A container of a Kubernetes pod, as the kubelet's pod-resources API names it.
 */
export interface PodRef__Output {
  'namespace': (string);
  'name': (string);
  'container': (string);
}
