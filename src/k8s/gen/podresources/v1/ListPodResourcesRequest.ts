// Original file: proto/kubelet/podresources/v1/api.proto


export interface ListPodResourcesRequest {
}

export interface ListPodResourcesRequest__Output {
}
