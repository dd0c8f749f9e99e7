// Generated from the object-type tables (src/core/types) by test/unit/wire/verb-attrs.test.ts: do not edit.
// Rewrite it with `npx vitest run test/unit/wire/verb-attrs.test.ts -u` after changing a declaration.
/**
 * The input attributes of every verb, by object type: create, modify and
 * the methods, each as its declarations (name, kind, mandatory, handle
 * types, enum or flag names, struct / list members). Types only: the client
 * derives its attribute types from them (src/client/attr-types.ts).
 */
export interface VerbAttrDecls {
  readonly device: {
    readonly methods: {
      readonly query_port: readonly [
        { readonly name: 'port'; readonly kind: 'u32'; readonly mandatory: true },
      ];
      readonly query_gid: readonly [
        { readonly name: 'port'; readonly kind: 'u32'; readonly mandatory: true },
        { readonly name: 'index'; readonly kind: 'u32'; readonly mandatory: true },
      ];
    };
  };
  readonly port: {
    readonly methods: {};
  };
  readonly ah: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'dlid'; readonly kind: 'u32' },
      { readonly name: 'sl'; readonly kind: 'u32' },
      { readonly name: 'src_path_bits'; readonly kind: 'u32' },
      { readonly name: 'static_rate'; readonly kind: 'u32' },
      { readonly name: 'port_num'; readonly kind: 'u32' },
      { readonly name: 'grh'; readonly kind: 'struct'; readonly members: readonly [
        { readonly name: 'dgid'; readonly kind: 'gid'; readonly mandatory: true },
        { readonly name: 'flow_label'; readonly kind: 'u32' },
        { readonly name: 'sgid_index'; readonly kind: 'u32' },
        { readonly name: 'hop_limit'; readonly kind: 'u32' },
        { readonly name: 'traffic_class'; readonly kind: 'u32' },
      ] },
    ];
    readonly methods: {};
  };
  readonly pd: {
    readonly create: readonly [];
    readonly methods: {};
  };
  readonly cq: {
    readonly create: readonly [
      { readonly name: 'cqe'; readonly kind: 'u32'; readonly mandatory: true },
      { readonly name: 'channel'; readonly kind: 'handle'; readonly types: 'comp_channel' },
      { readonly name: 'comp_vector'; readonly kind: 'u32' },
    ];
    readonly methods: {
      readonly poll: readonly [
        { readonly name: 'max'; readonly kind: 'u32' },
      ];
      readonly req_notify: readonly [
        { readonly name: 'solicited_only'; readonly kind: 'bool' },
      ];
      readonly resize: readonly [
        { readonly name: 'cqe'; readonly kind: 'u32'; readonly mandatory: true },
      ];
    };
  };
  readonly comp_channel: {
    readonly create: readonly [];
    readonly methods: {};
  };
  readonly mw: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'mw_type'; readonly kind: 'u32' },
    ];
    readonly methods: {};
  };
  readonly mr: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'length'; readonly kind: 'u64'; readonly mandatory: true },
      { readonly name: 'access'; readonly kind: 'flags'; readonly names: 'LOCAL_WRITE' | 'REMOTE_WRITE' | 'REMOTE_READ' | 'REMOTE_ATOMIC' | 'MW_BIND' | 'ZERO_BASED' | 'ON_DEMAND' | 'HUGETLB' | 'RELAXED_ORDERING' },
    ];
    readonly methods: {
      readonly read: readonly [
        { readonly name: 'offset'; readonly kind: 'u64' },
        { readonly name: 'length'; readonly kind: 'u32'; readonly mandatory: true },
      ];
      readonly write: readonly [
        { readonly name: 'offset'; readonly kind: 'u64' },
        { readonly name: 'data'; readonly kind: 'bytes'; readonly mandatory: true },
      ];
    };
  };
  readonly qp: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'send_cq'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'cq' },
      { readonly name: 'recv_cq'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'cq' },
      { readonly name: 'srq'; readonly kind: 'handle'; readonly types: 'srq' },
      { readonly name: 'qp_type'; readonly kind: 'enum'; readonly mandatory: true; readonly names: 'RC' | 'UC' | 'UD' | 'RAW_PACKET' | 'XRC_SEND' | 'XRC_RECV' },
      { readonly name: 'cap'; readonly kind: 'struct'; readonly members: readonly [
        { readonly name: 'max_send_wr'; readonly kind: 'u32' },
        { readonly name: 'max_recv_wr'; readonly kind: 'u32' },
        { readonly name: 'max_send_sge'; readonly kind: 'u32' },
        { readonly name: 'max_recv_sge'; readonly kind: 'u32' },
        { readonly name: 'max_inline_data'; readonly kind: 'u32' },
      ] },
      { readonly name: 'sq_sig_all'; readonly kind: 'bool' },
      { readonly name: 'xrcd'; readonly kind: 'handle'; readonly types: 'xrcd' },
    ];
    readonly modify: readonly [
      { readonly name: 'qp_state'; readonly kind: 'enum'; readonly names: 'RESET' | 'INIT' | 'RTR' | 'RTS' | 'SQD' | 'SQE' | 'ERR' },
      { readonly name: 'cur_qp_state'; readonly kind: 'enum'; readonly names: 'RESET' | 'INIT' | 'RTR' | 'RTS' | 'SQD' | 'SQE' | 'ERR' },
      { readonly name: 'en_sqd_async_notify'; readonly kind: 'u32' },
      { readonly name: 'qp_access_flags'; readonly kind: 'flags'; readonly names: 'LOCAL_WRITE' | 'REMOTE_WRITE' | 'REMOTE_READ' | 'REMOTE_ATOMIC' | 'MW_BIND' | 'ZERO_BASED' | 'ON_DEMAND' | 'HUGETLB' | 'RELAXED_ORDERING' },
      { readonly name: 'pkey_index'; readonly kind: 'u32' },
      { readonly name: 'port_num'; readonly kind: 'u32' },
      { readonly name: 'qkey'; readonly kind: 'u32' },
      { readonly name: 'ah_attr'; readonly kind: 'struct'; readonly members: readonly [
        { readonly name: 'dlid'; readonly kind: 'u32' },
        { readonly name: 'sl'; readonly kind: 'u32' },
        { readonly name: 'src_path_bits'; readonly kind: 'u32' },
        { readonly name: 'static_rate'; readonly kind: 'u32' },
        { readonly name: 'port_num'; readonly kind: 'u32' },
        { readonly name: 'grh'; readonly kind: 'struct'; readonly members: readonly [
          { readonly name: 'dgid'; readonly kind: 'gid'; readonly mandatory: true },
          { readonly name: 'flow_label'; readonly kind: 'u32' },
          { readonly name: 'sgid_index'; readonly kind: 'u32' },
          { readonly name: 'hop_limit'; readonly kind: 'u32' },
          { readonly name: 'traffic_class'; readonly kind: 'u32' },
        ] },
      ] },
      { readonly name: 'path_mtu'; readonly kind: 'enum'; readonly names: 'MTU_256' | 'MTU_512' | 'MTU_1024' | 'MTU_2048' | 'MTU_4096' },
      { readonly name: 'timeout'; readonly kind: 'u32' },
      { readonly name: 'retry_cnt'; readonly kind: 'u32' },
      { readonly name: 'rnr_retry'; readonly kind: 'u32' },
      { readonly name: 'rq_psn'; readonly kind: 'u32' },
      { readonly name: 'max_rd_atomic'; readonly kind: 'u32' },
      { readonly name: 'alt_ah_attr'; readonly kind: 'struct'; readonly members: readonly [
        { readonly name: 'dlid'; readonly kind: 'u32' },
        { readonly name: 'sl'; readonly kind: 'u32' },
        { readonly name: 'src_path_bits'; readonly kind: 'u32' },
        { readonly name: 'static_rate'; readonly kind: 'u32' },
        { readonly name: 'port_num'; readonly kind: 'u32' },
        { readonly name: 'grh'; readonly kind: 'struct'; readonly members: readonly [
          { readonly name: 'dgid'; readonly kind: 'gid'; readonly mandatory: true },
          { readonly name: 'flow_label'; readonly kind: 'u32' },
          { readonly name: 'sgid_index'; readonly kind: 'u32' },
          { readonly name: 'hop_limit'; readonly kind: 'u32' },
          { readonly name: 'traffic_class'; readonly kind: 'u32' },
        ] },
      ] },
      { readonly name: 'min_rnr_timer'; readonly kind: 'u32' },
      { readonly name: 'sq_psn'; readonly kind: 'u32' },
      { readonly name: 'max_dest_rd_atomic'; readonly kind: 'u32' },
      { readonly name: 'path_mig_state'; readonly kind: 'enum'; readonly names: 'MIGRATED' | 'REARM' | 'ARMED' },
      { readonly name: 'cap'; readonly kind: 'struct'; readonly members: readonly [
        { readonly name: 'max_send_wr'; readonly kind: 'u32' },
        { readonly name: 'max_recv_wr'; readonly kind: 'u32' },
        { readonly name: 'max_send_sge'; readonly kind: 'u32' },
        { readonly name: 'max_recv_sge'; readonly kind: 'u32' },
        { readonly name: 'max_inline_data'; readonly kind: 'u32' },
      ] },
      { readonly name: 'dest_qp_num'; readonly kind: 'u32' },
      { readonly name: 'rate_limit'; readonly kind: 'u32' },
    ];
    readonly methods: {
      readonly post_send: readonly [
        { readonly name: 'wrs'; readonly kind: 'list'; readonly mandatory: true; readonly members: readonly [
          { readonly name: 'wr_id'; readonly kind: 'u64' },
          { readonly name: 'opcode'; readonly kind: 'enum'; readonly mandatory: true; readonly names: 'RDMA_WRITE' | 'RDMA_WRITE_WITH_IMM' | 'SEND' | 'SEND_WITH_IMM' | 'RDMA_READ' | 'ATOMIC_CMP_AND_SWP' | 'ATOMIC_FETCH_AND_ADD' | 'LOCAL_INV' | 'BIND_MW' | 'SEND_WITH_INV' },
          { readonly name: 'sg_list'; readonly kind: 'list'; readonly members: readonly [
            { readonly name: 'addr'; readonly kind: 'u64'; readonly mandatory: true },
            { readonly name: 'length'; readonly kind: 'u32'; readonly mandatory: true },
            { readonly name: 'lkey'; readonly kind: 'u32'; readonly mandatory: true },
          ] },
          { readonly name: 'send_flags'; readonly kind: 'flags'; readonly names: 'FENCE' | 'SIGNALED' | 'SOLICITED' | 'INLINE' | 'IP_CSUM' },
          { readonly name: 'imm_data'; readonly kind: 'u32' },
          { readonly name: 'remote_addr'; readonly kind: 'u64' },
          { readonly name: 'rkey'; readonly kind: 'u32' },
          { readonly name: 'compare_add'; readonly kind: 'u64' },
          { readonly name: 'swap'; readonly kind: 'u64' },
          { readonly name: 'ah'; readonly kind: 'handle'; readonly types: 'ah' },
          { readonly name: 'remote_qpn'; readonly kind: 'u32' },
          { readonly name: 'remote_qkey'; readonly kind: 'u32' },
          { readonly name: 'invalidate_rkey'; readonly kind: 'u32' },
          { readonly name: 'bind_mw'; readonly kind: 'struct'; readonly members: readonly [
            { readonly name: 'mw'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'mw' },
            { readonly name: 'rkey'; readonly kind: 'u32'; readonly mandatory: true },
            { readonly name: 'mr'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'mr' },
            { readonly name: 'addr'; readonly kind: 'u64'; readonly mandatory: true },
            { readonly name: 'length'; readonly kind: 'u64'; readonly mandatory: true },
            { readonly name: 'mw_access_flags'; readonly kind: 'flags'; readonly names: 'LOCAL_WRITE' | 'REMOTE_WRITE' | 'REMOTE_READ' | 'REMOTE_ATOMIC' | 'MW_BIND' | 'ZERO_BASED' | 'ON_DEMAND' | 'HUGETLB' | 'RELAXED_ORDERING' },
          ] },
          { readonly name: 'remote_srqn'; readonly kind: 'u32' },
        ] },
      ];
      readonly post_recv: readonly [
        { readonly name: 'wrs'; readonly kind: 'list'; readonly mandatory: true; readonly members: readonly [
          { readonly name: 'wr_id'; readonly kind: 'u64' },
          { readonly name: 'sg_list'; readonly kind: 'list'; readonly members: readonly [
            { readonly name: 'addr'; readonly kind: 'u64'; readonly mandatory: true },
            { readonly name: 'length'; readonly kind: 'u32'; readonly mandatory: true },
            { readonly name: 'lkey'; readonly kind: 'u32'; readonly mandatory: true },
          ] },
        ] },
      ];
      readonly attach_mcast: readonly [
        { readonly name: 'gid'; readonly kind: 'gid'; readonly mandatory: true },
        { readonly name: 'lid'; readonly kind: 'u32' },
      ];
      readonly detach_mcast: readonly [
        { readonly name: 'gid'; readonly kind: 'gid'; readonly mandatory: true },
        { readonly name: 'lid'; readonly kind: 'u32' },
      ];
      readonly bind_mw: readonly [
        { readonly name: 'mw'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'mw' },
        { readonly name: 'mr'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'mr' },
        { readonly name: 'addr'; readonly kind: 'u64'; readonly mandatory: true },
        { readonly name: 'length'; readonly kind: 'u64'; readonly mandatory: true },
        { readonly name: 'mw_access_flags'; readonly kind: 'flags'; readonly names: 'LOCAL_WRITE' | 'REMOTE_WRITE' | 'REMOTE_READ' | 'REMOTE_ATOMIC' | 'MW_BIND' | 'ZERO_BASED' | 'ON_DEMAND' | 'HUGETLB' | 'RELAXED_ORDERING' },
        { readonly name: 'wr_id'; readonly kind: 'u64' },
        { readonly name: 'send_flags'; readonly kind: 'flags'; readonly names: 'FENCE' | 'SIGNALED' | 'SOLICITED' | 'INLINE' | 'IP_CSUM' },
      ];
    };
  };
  readonly srq: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'max_wr'; readonly kind: 'u32'; readonly mandatory: true },
      { readonly name: 'max_sge'; readonly kind: 'u32' },
      { readonly name: 'srq_limit'; readonly kind: 'u32' },
      { readonly name: 'srq_type'; readonly kind: 'enum'; readonly names: 'BASIC' | 'XRC' },
      { readonly name: 'xrcd'; readonly kind: 'handle'; readonly types: 'xrcd' },
      { readonly name: 'cq'; readonly kind: 'handle'; readonly types: 'cq' },
    ];
    readonly modify: readonly [
      { readonly name: 'max_wr'; readonly kind: 'u32' },
      { readonly name: 'srq_limit'; readonly kind: 'u32' },
    ];
    readonly methods: {
      readonly post_recv: readonly [
        { readonly name: 'wrs'; readonly kind: 'list'; readonly mandatory: true; readonly members: readonly [
          { readonly name: 'wr_id'; readonly kind: 'u64' },
          { readonly name: 'sg_list'; readonly kind: 'list'; readonly members: readonly [
            { readonly name: 'addr'; readonly kind: 'u64'; readonly mandatory: true },
            { readonly name: 'length'; readonly kind: 'u32'; readonly mandatory: true },
            { readonly name: 'lkey'; readonly kind: 'u32'; readonly mandatory: true },
          ] },
        ] },
      ];
    };
  };
  readonly xrcd: {
    readonly create: readonly [];
    readonly methods: {};
  };
  readonly flow: {
    readonly create: readonly [
      { readonly name: 'qp'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'qp' },
      { readonly name: 'type'; readonly kind: 'enum'; readonly names: 'NORMAL' | 'ALL_DEFAULT' | 'MC_DEFAULT' | 'SNIFFER' },
      { readonly name: 'priority'; readonly kind: 'u32' },
      { readonly name: 'port'; readonly kind: 'u32' },
      { readonly name: 'flags'; readonly kind: 'u32' },
      { readonly name: 'specs'; readonly kind: 'list'; readonly members: readonly [
        { readonly name: 'type'; readonly kind: 'enum'; readonly mandatory: true; readonly names: 'ETH' | 'IPV4' | 'IPV6' | 'TCP' | 'UDP' },
        { readonly name: 'dst_mac'; readonly kind: 'str' },
        { readonly name: 'ether_type'; readonly kind: 'u32' },
        { readonly name: 'vlan_tag'; readonly kind: 'u32' },
        { readonly name: 'src_ip'; readonly kind: 'str' },
        { readonly name: 'dst_ip'; readonly kind: 'str' },
        { readonly name: 'src_port'; readonly kind: 'u32' },
        { readonly name: 'dst_port'; readonly kind: 'u32' },
      ] },
    ];
    readonly methods: {};
  };
  readonly dm: {
    readonly create: readonly [
      { readonly name: 'length'; readonly kind: 'u64'; readonly mandatory: true },
      { readonly name: 'log_align_req'; readonly kind: 'u32' },
      { readonly name: 'comp_mask'; readonly kind: 'u32' },
    ];
    readonly methods: {
      readonly copy_to: readonly [
        { readonly name: 'offset'; readonly kind: 'u64' },
        { readonly name: 'data'; readonly kind: 'bytes'; readonly mandatory: true },
      ];
      readonly copy_from: readonly [
        { readonly name: 'offset'; readonly kind: 'u64' },
        { readonly name: 'length'; readonly kind: 'u32'; readonly mandatory: true },
      ];
    };
  };
  readonly dm_mr: {
    readonly create: readonly [
      { readonly name: 'pd'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'pd' },
      { readonly name: 'dm'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'dm' },
      { readonly name: 'offset'; readonly kind: 'u64' },
      { readonly name: 'length'; readonly kind: 'u64'; readonly mandatory: true },
      { readonly name: 'access'; readonly kind: 'flags'; readonly mandatory: true; readonly names: 'LOCAL_WRITE' | 'REMOTE_WRITE' | 'REMOTE_READ' | 'REMOTE_ATOMIC' | 'MW_BIND' | 'ZERO_BASED' | 'ON_DEMAND' | 'HUGETLB' | 'RELAXED_ORDERING' },
    ];
    readonly methods: {};
  };
  readonly sim_fault: {
    readonly create: readonly [];
    readonly methods: {
      readonly raise_event: readonly [
        { readonly name: 'event'; readonly kind: 'enum'; readonly mandatory: true; readonly names: 'CQ_ERR' | 'QP_FATAL' | 'QP_REQ_ERR' | 'QP_ACCESS_ERR' | 'COMM_EST' | 'SQ_DRAINED' | 'PATH_MIG' | 'PATH_MIG_ERR' | 'DEVICE_FATAL' | 'PORT_ACTIVE' | 'PORT_ERR' | 'LID_CHANGE' | 'PKEY_CHANGE' | 'SM_CHANGE' | 'SRQ_ERR' | 'SRQ_LIMIT_REACHED' | 'QP_LAST_WQE_REACHED' | 'CLIENT_REREGISTER' | 'GID_CHANGE' | 'WQ_FATAL' },
        { readonly name: 'target'; readonly kind: 'handle'; readonly types: 'qp' | 'cq' | 'srq' },
        { readonly name: 'port'; readonly kind: 'u32' },
      ];
      readonly port_down: readonly [
        { readonly name: 'port'; readonly kind: 'u32' },
      ];
      readonly port_up: readonly [
        { readonly name: 'port'; readonly kind: 'u32' },
      ];
      readonly device_fatal: readonly [];
      readonly overflow_cq: readonly [
        { readonly name: 'cq'; readonly kind: 'handle'; readonly mandatory: true; readonly types: 'cq' },
        { readonly name: 'count'; readonly kind: 'u32' },
      ];
    };
  };
}
