// Original file: proto/rdmabroker/v1/broker.proto


export interface WhoAmIRequest {
}

export interface WhoAmIRequest__Output {
}
