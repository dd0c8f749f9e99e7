// Original file: proto/rdmabroker/v1/broker.proto


export interface ListDevicesRequest {
}

export interface ListDevicesRequest__Output {
}
