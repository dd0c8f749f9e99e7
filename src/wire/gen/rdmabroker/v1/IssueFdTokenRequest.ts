// Original file: proto/rdmabroker/v1/broker.proto


export interface IssueFdTokenRequest {
}

export interface IssueFdTokenRequest__Output {
}
