/*
 * rdma-broker fast lane: the shared-memory layout (docs/fast-lane.md).
 *
 * One memfd per lane, received over the fd channel (op "lane_open", three
 * fds: the memfd, the submission doorbell, the completion doorbell), mapped
 * with mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED, memfd, 0).
 * Everything is little-endian. Indices are free-running uint32_t; a slot is
 * index & (entries - 1). Producers store their index with release
 * semantics after writing the entries; consumers load it with acquire
 * semantics (see rbfl_load / rbfl_store below).
 *
 * The TypeScript module src/wire/lane-layout.ts is the same layout; the tests
 * compile this header and compare every offset (test/integration/lane-clients.test.ts).
 */
#ifndef RDMA_BROKER_FAST_LANE_H
#define RDMA_BROKER_FAST_LANE_H

#include <stdint.h>
#include <stddef.h>

#define RBFL_MAGIC 0x4c464252u /* "RBFL" */
#define RBFL_VERSION 1u
#define RBFL_HEADER_SIZE 4096u
#define RBFL_SQE_SIZE 256u
#define RBFL_CQE_SIZE 64u
#define RBFL_ERR_SIZE 32u
#define RBFL_CQ_RING_HEADER 256u
#define RBFL_MAX_SGE 10u

/* Lane and ring states. */
#define RBFL_LANE_OPEN 1u
#define RBFL_LANE_CLOSED 2u
#define RBFL_RING_FREE 0u
#define RBFL_RING_ATTACHED 1u
#define RBFL_RING_GONE 2u

/* Submission entry kinds. */
enum rbfl_kind {
	RBFL_NOP = 0,
	RBFL_POST_SEND = 1,   /* handle: a QP */
	RBFL_POST_RECV = 2,   /* handle: a QP */
	RBFL_SRQ_RECV = 3,    /* handle: an SRQ */
	RBFL_REQ_NOTIFY = 4,  /* handle: an attached CQ; imm & 1: solicited only */
};

/* Error record codes. */
enum rbfl_err {
	RBFL_ERR_BAD_ENTRY = 1,
	RBFL_ERR_NO_SUCH_HANDLE = 2,
	RBFL_ERR_WRONG_TYPE = 3,
	RBFL_ERR_BAD_RANGE = 4,
	RBFL_ERR_POST_FAILED = 5,
	RBFL_ERR_RING_CORRUPT = 6,
	RBFL_ERR_NOT_ATTACHED = 7,
	RBFL_ERR_REFUSED = 8,
};

/* Padding to put each index on its own cache line. */
#define RBFL_LINE(name, used) uint8_t name[64 - (used)]

/* Offset 0: the header (the daemon writes it once; only the indices change). */
struct rbfl_header {
	uint32_t magic;
	uint32_t version;
	uint32_t total_size;
	uint32_t sq_entries;
	uint32_t sq_entry_size;
	uint32_t sq_offset;
	uint32_t cq_rings;
	uint32_t cq_entries;
	uint32_t cq_entry_size;
	uint32_t cq_offset;
	uint32_t cq_ring_size;
	uint32_t err_entries;
	uint32_t err_entry_size;
	uint32_t err_offset;
	uint32_t max_sge;
	uint32_t reserved0;
	/* 64 */ uint32_t sq_tail; RBFL_LINE(pad1, 4);     /* client writes */
	/* 128 */ uint32_t sq_head; RBFL_LINE(pad2, 4);    /* daemon writes */
	/* 192 */ uint32_t err_tail; uint32_t err_dropped; RBFL_LINE(pad3, 8); /* daemon writes */
	/* 256 */ uint32_t err_head; RBFL_LINE(pad4, 4);   /* client writes */
	/* 320 */ uint32_t state; RBFL_LINE(pad5, 4);      /* daemon writes */
};

struct rbfl_sge {
	uint64_t addr;   /* the daemon's address of the bytes (an MR's addr + offset) */
	uint32_t length;
	uint32_t lkey;
};

/* A submission entry (256 bytes). Fields unused by the opcode are ignored. */
struct rbfl_sqe {
	uint8_t kind;          /* enum rbfl_kind */
	uint8_t opcode;        /* enum ibv_wr_opcode (POST_SEND) */
	uint8_t num_sge;       /* 0..RBFL_MAX_SGE */
	uint8_t reserved0;
	uint32_t send_flags;   /* enum ibv_send_flags */
	uint64_t handle;       /* broker handle of the QP / SRQ / CQ */
	uint64_t wr_id;
	uint64_t remote_addr;  /* RDMA, atomics; BIND_MW: the window's address */
	uint32_t rkey;         /* RDMA, atomics; BIND_MW: the new rkey */
	uint32_t imm;          /* imm_data (WITH_IMM), invalidate_rkey (LOCAL_INV, SEND_WITH_INV), solicited (REQ_NOTIFY) */
	uint64_t compare_add;  /* atomics; BIND_MW: the window's length */
	uint64_t swap;         /* ATOMIC_CMP_AND_SWP */
	uint32_t remote_qpn;   /* UD (with ah); XRC_SEND: remote_srqn (without ah) */
	uint32_t remote_qkey;  /* UD */
	uint64_t ah;           /* UD: broker handle of the AH (0: none) */
	uint64_t bind_mw;      /* BIND_MW: broker handle of the MW */
	uint64_t bind_mr;      /* BIND_MW: broker handle of the MR */
	uint32_t bind_access;  /* BIND_MW: mw_access_flags */
	uint32_t reserved1;
	struct rbfl_sge sge[RBFL_MAX_SGE];
};

/* A completion (64 bytes): struct ibv_wc, flattened. */
struct rbfl_cqe {
	uint64_t wr_id;
	uint32_t status;       /* enum ibv_wc_status */
	uint32_t opcode;       /* enum ibv_wc_opcode */
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_data;     /* as the gRPC path reports it */
	uint32_t qp_num;
	uint32_t src_qp;
	uint32_t wc_flags;
	uint16_t pkey_index;
	uint16_t slid;
	uint8_t sl;
	uint8_t dlid_path_bits;
	uint8_t reserved[18];
};

/* The header of completion ring i, at cq_offset + i * cq_ring_size; its entries follow it. */
struct rbfl_cq_ring {
	uint32_t head; RBFL_LINE(pad0, 4);                   /* client writes */
	/* 64 */ uint32_t tail;                               /* daemon writes */
	uint32_t stalled;      /* 1: the ring filled; ring the doorbell after consuming */
	uint32_t state;        /* RBFL_RING_* */
	uint32_t reserved0;
	uint64_t cq_handle;
	uint8_t pad1[256 - 88];
	/* 256 */ struct rbfl_cqe entries[];
};

/* An error record (32 bytes): a submission the daemon refused. */
struct rbfl_err_rec {
	uint32_t sq_index;     /* the submission's index */
	uint32_t err_no;       /* positive errno (device refusals), else 0 */
	uint32_t code;         /* enum rbfl_err */
	uint32_t kind_opcode;  /* kind | opcode << 8, as submitted */
	uint64_t wr_id;
	uint64_t handle;
};

_Static_assert(sizeof(struct rbfl_header) == 384, "rbfl_header");
_Static_assert(offsetof(struct rbfl_header, sq_tail) == 64, "sq_tail");
_Static_assert(offsetof(struct rbfl_header, sq_head) == 128, "sq_head");
_Static_assert(offsetof(struct rbfl_header, err_tail) == 192, "err_tail");
_Static_assert(offsetof(struct rbfl_header, err_head) == 256, "err_head");
_Static_assert(offsetof(struct rbfl_header, state) == 320, "state");
_Static_assert(sizeof(struct rbfl_sqe) == RBFL_SQE_SIZE, "rbfl_sqe");
_Static_assert(offsetof(struct rbfl_sqe, sge) == 96, "sge");
_Static_assert(sizeof(struct rbfl_cqe) == RBFL_CQE_SIZE, "rbfl_cqe");
_Static_assert(sizeof(struct rbfl_cq_ring) == RBFL_CQ_RING_HEADER, "rbfl_cq_ring");
_Static_assert(offsetof(struct rbfl_cq_ring, tail) == 64, "tail");
_Static_assert(offsetof(struct rbfl_cq_ring, cq_handle) == 80, "cq_handle");
_Static_assert(sizeof(struct rbfl_err_rec) == RBFL_ERR_SIZE, "rbfl_err_rec");

/* Acquire load and release store of an index (the only ordering the lane needs). */
static inline uint32_t rbfl_load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void rbfl_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static inline struct rbfl_header *rbfl_hdr(void *base) { return (struct rbfl_header *)base; }
static inline struct rbfl_sqe *rbfl_sq(void *base, uint32_t index)
{
	struct rbfl_header *h = rbfl_hdr(base);
	return (struct rbfl_sqe *)((uint8_t *)base + h->sq_offset + (size_t)(index & (h->sq_entries - 1)) * RBFL_SQE_SIZE);
}
static inline struct rbfl_cq_ring *rbfl_ring(void *base, uint32_t ring)
{
	struct rbfl_header *h = rbfl_hdr(base);
	return (struct rbfl_cq_ring *)((uint8_t *)base + h->cq_offset + (size_t)ring * h->cq_ring_size);
}
static inline struct rbfl_err_rec *rbfl_err(void *base, uint32_t index)
{
	struct rbfl_header *h = rbfl_hdr(base);
	return (struct rbfl_err_rec *)((uint8_t *)base + h->err_offset + (size_t)(index & (h->err_entries - 1)) * RBFL_ERR_SIZE);
}

#endif
