/*
 * The kernel's answers for the differential catalog: interprets
 * test/differential/cases.txt (rendered from catalog.ts, whose header
 * documents the step vocabulary) on a kernel RDMA device through libibverbs
 * and prints one JSON line per case. Built with gcc by scripts/rxe-suite.sh
 * inside the soft-RoCE VM; its output is test/fixtures/rxe-answers.jsonl.
 *
 *   recorder CASES DEVICE RDMA_CORE_VERSION [NAME_PREFIX]
 *
 * The first line is a header: {"header":{"kernel","rdma_core","device",...}}.
 * Every wait is bounded (the `ms` of a step); nothing here blocks on the
 * kernel: the async-event fd and the completion channels are non-blocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

enum { MAX_ARGS = 40, MAX_OBJS = 24, MAX_WR = 128, MAX_SGE = 8, MAX_WC = 512, DEFAULT_MS = 100 };
#define BAD_KEY 0xfedcba98u

/* ------------------------------------------------------------ output */

static char *out;
static size_t outlen, outcap;

static void emit(const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(out + outlen, outcap - outlen, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < outcap - outlen) {
      outlen += (size_t)n;
      return;
    }
    outcap = outcap ? outcap * 2 : 65536;
    out = realloc(out, outcap);
    if (!out) abort();
  }
}

/* ------------------------------------------------------------ parsing */

struct step {
  char op[32];
  int nargs;
  char key[MAX_ARGS][24];
  char val[MAX_ARGS][64];
};

static const char *arg(const struct step *s, const char *k) {
  for (int i = 0; i < s->nargs; i++)
    if (strcmp(s->key[i], k) == 0) return s->val[i];
  return NULL;
}
static long long num(const struct step *s, const char *k, long long dflt) {
  const char *v = arg(s, k);
  return v ? strtoll(v, NULL, 0) : dflt;
}
static unsigned long long unum(const struct step *s, const char *k, unsigned long long dflt) {
  const char *v = arg(s, k);
  return v ? strtoull(v, NULL, 0) : dflt;
}

static int parse(char *line, struct step *s) {
  memset(s, 0, sizeof *s);
  char *save = NULL;
  char *tok = strtok_r(line, " \t\n", &save);
  if (!tok) return -1;
  snprintf(s->op, sizeof s->op, "%s", tok);
  while ((tok = strtok_r(NULL, " \t\n", &save)) && s->nargs < MAX_ARGS) {
    char *eq = strchr(tok, '=');
    if (!eq) continue;
    *eq = 0;
    snprintf(s->key[s->nargs], sizeof s->key[0], "%s", tok);
    snprintf(s->val[s->nargs], sizeof s->val[0], "%s", eq + 1);
    s->nargs++;
  }
  return 0;
}

/* ------------------------------------------------------------ objects */

enum kind { K_NONE, K_CQ, K_MR, K_SRQ, K_QP, K_AH, K_MW };

struct obj {
  char name[24];
  enum kind kind;
  int dead; /* created then destroyed (an MR after dereg keeps its keys) */
  struct ibv_cq *cq;
  struct ibv_comp_channel *chan;
  struct ibv_mr *mr;
  unsigned char *buf;
  size_t len;
  uint64_t addr;
  uint32_t lkey, rkey;
  struct ibv_srq *srq;
  struct ibv_qp *qp;
  int qp_type;
  struct ibv_ah *ah;
  struct ibv_mw *mw;
};

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_port_attr port;
static union ibv_gid gid0;
static struct obj objs[MAX_OBJS];
static int nobjs;

static struct obj *find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < nobjs; i++)
    if (strcmp(objs[i].name, name) == 0) return &objs[i];
  return NULL;
}
static struct obj *live(const struct step *s, const char *k, enum kind kind) {
  struct obj *o = find(arg(s, k));
  return o && o->kind == kind && !o->dead ? o : NULL;
}
static struct obj *add(const char *name, enum kind kind) {
  if (nobjs == MAX_OBJS) {
    fprintf(stderr, "recorder: too many objects\n");
    exit(2);
  }
  struct obj *o = &objs[nobjs++];
  memset(o, 0, sizeof *o);
  snprintf(o->name, sizeof o->name, "%s", name ? name : "?");
  o->kind = kind;
  return o;
}
static const char *name_of_qpn(uint32_t qpn) {
  for (int i = 0; i < nobjs; i++)
    if (objs[i].kind == K_QP && objs[i].qp && objs[i].qp->qp_num == qpn) return objs[i].name;
  return "?";
}

static const char *name_of_rkey(uint32_t rkey) {
  for (int i = 0; i < nobjs; i++)
    if ((objs[i].kind == K_MW || objs[i].kind == K_MR) && objs[i].rkey == rkey) return objs[i].name;
  return "?";
}

static int errno_or(int dflt) { return errno ? errno : dflt; }

/* ------------------------------------------------------------ wc_flags */

/*
 * A completion's flags by libibverbs' names (enum ibv_wc_flags), which the
 * catalog records. rxe's provider copies the kernel's struct ib_uverbs_wc out
 * of its CQ ring as is, so its wc_flags are the kernel's enum ib_wc_flags:
 * there bit 2 is WITH_INVALIDATE (libibverbs' IP_CSUM_OK) and bit 3 IP_CSUM_OK
 * (libibverbs' WITH_INV). A SEND_WITH_INV receive on rxe0 has wc_flags 5.
 * The provider is found as the backend finds it (src/verbs/ibverbs/index.ts):
 * the device's driver, else the soft device's name prefix.
 */
static int kernel_wc_flags;

static int provider_is_kernel_wc(const char *dev) {
  char path[256], link[256];
  snprintf(path, sizeof path, "/sys/class/infiniband/%s/device/driver", dev);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n > 0) {
    link[n] = 0;
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    return strcmp(base, "hfi1") == 0 || strcmp(base, "ib_qib") == 0;
  }
  return strncmp(dev, "rxe", 3) == 0 && (dev[3] == 0 || (dev[3] >= '0' && dev[3] <= '9'));
}

static unsigned named_wc_flags(unsigned raw) {
  unsigned f = raw & (IBV_WC_GRH | IBV_WC_WITH_IMM);
  if (kernel_wc_flags) return f | (raw & 4 ? IBV_WC_WITH_INV : 0);
  return f | (raw & IBV_WC_WITH_INV);
}

/* ------------------------------------------------------------ names */

static const char *state_names[] = {"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"};
static int state_of(const char *n) {
  for (int i = 0; i < 7; i++)
    if (n && strcmp(n, state_names[i]) == 0) return i;
  return -1;
}
static const char *wc_opcode(int op) {
  switch (op) {
    case IBV_WC_SEND: return "SEND";
    case IBV_WC_RDMA_WRITE: return "RDMA_WRITE";
    case IBV_WC_RDMA_READ: return "RDMA_READ";
    case IBV_WC_COMP_SWAP: return "COMP_SWAP";
    case IBV_WC_FETCH_ADD: return "FETCH_ADD";
    case IBV_WC_BIND_MW: return "BIND_MW";
    case IBV_WC_LOCAL_INV: return "LOCAL_INV";
    case IBV_WC_RECV: return "RECV";
    case IBV_WC_RECV_RDMA_WITH_IMM: return "RECV_RDMA_WITH_IMM";
    default: return "?";
  }
}
static int wr_opcode(const char *n) {
  static const struct { const char *n; int v; } t[] = {
      {"RDMA_WRITE", IBV_WR_RDMA_WRITE}, {"RDMA_WRITE_WITH_IMM", IBV_WR_RDMA_WRITE_WITH_IMM},
      {"SEND", IBV_WR_SEND}, {"SEND_WITH_IMM", IBV_WR_SEND_WITH_IMM}, {"RDMA_READ", IBV_WR_RDMA_READ},
      {"ATOMIC_CMP_AND_SWP", IBV_WR_ATOMIC_CMP_AND_SWP}, {"ATOMIC_FETCH_AND_ADD", IBV_WR_ATOMIC_FETCH_AND_ADD},
      {"LOCAL_INV", IBV_WR_LOCAL_INV}, {"BIND_MW", IBV_WR_BIND_MW}, {"SEND_WITH_INV", IBV_WR_SEND_WITH_INV}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (n && strcmp(n, t[i].n) == 0) return t[i].v;
  return -1;
}
static const char *wc_status(enum ibv_wc_status st) {
  static const char *names[] = {"SUCCESS", "LOC_LEN_ERR", "LOC_QP_OP_ERR", "LOC_EEC_OP_ERR", "LOC_PROT_ERR", "WR_FLUSH_ERR",
                                "MW_BIND_ERR", "BAD_RESP_ERR", "LOC_ACCESS_ERR", "REM_INV_REQ_ERR", "REM_ACCESS_ERR",
                                "REM_OP_ERR", "RETRY_EXC_ERR", "RNR_RETRY_EXC_ERR", "LOC_RDD_VIOL_ERR", "REM_INV_RD_REQ_ERR",
                                "REM_ABORT_ERR", "INV_EECN_ERR", "INV_EEC_STATE_ERR", "FATAL_ERR", "RESP_TIMEOUT_ERR",
                                "GENERAL_ERR", "TM_ERR", "TM_RNDV_INCOMPLETE"};
  return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}
static const char *event_name(enum ibv_event_type t) {
  static const char *names[] = {"CQ_ERR", "QP_FATAL", "QP_REQ_ERR", "QP_ACCESS_ERR", "COMM_EST", "SQ_DRAINED",
                                "PATH_MIG", "PATH_MIG_ERR", "DEVICE_FATAL", "PORT_ACTIVE", "PORT_ERR", "LID_CHANGE",
                                "PKEY_CHANGE", "SM_CHANGE", "SRQ_ERR", "SRQ_LIMIT_REACHED", "QP_LAST_WQE_REACHED",
                                "CLIENT_REREGISTER", "GID_CHANGE", "WQ_FATAL"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ------------------------------------------------------------ time */

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ async events */

struct evrec {
  char s[64];
};
static int evcmp(const void *a, const void *b) { return strcmp(((const struct evrec *)a)->s, ((const struct evrec *)b)->s); }

/* Reads every async event already queued (non-blocking fd); names them into `ev` when given. */
static int read_events(struct evrec *ev, int max, int have) {
  struct ibv_async_event e;
  while (ibv_get_async_event(ctx, &e) == 0) {
    const char *who = "port";
    for (int i = 0; i < nobjs; i++) {
      struct obj *o = &objs[i];
      if ((o->kind == K_QP && o->qp && e.element.qp == o->qp) || (o->kind == K_CQ && o->cq && e.element.cq == o->cq) ||
          (o->kind == K_SRQ && o->srq && e.element.srq == o->srq)) {
        switch (e.event_type) {
          case IBV_EVENT_CQ_ERR: if (o->kind == K_CQ) who = o->name; break;
          case IBV_EVENT_SRQ_ERR: case IBV_EVENT_SRQ_LIMIT_REACHED: if (o->kind == K_SRQ) who = o->name; break;
          case IBV_EVENT_DEVICE_FATAL: case IBV_EVENT_PORT_ACTIVE: case IBV_EVENT_PORT_ERR: case IBV_EVENT_LID_CHANGE:
          case IBV_EVENT_PKEY_CHANGE: case IBV_EVENT_SM_CHANGE: case IBV_EVENT_CLIENT_REREGISTER: case IBV_EVENT_GID_CHANGE:
            break;
          default: if (o->kind == K_QP) who = o->name; break;
        }
      }
    }
    if (ev && have < max) snprintf(ev[have++].s, sizeof ev[0].s, "%s:%s", event_name(e.event_type), who);
    ibv_ack_async_event(&e);
  }
  return have;
}

static void step_ev(const struct step *s) {
  struct evrec ev[64];
  int n = (int)num(s, "n", 0), ms = (int)num(s, "ms", DEFAULT_MS), have = 0;
  double end = now_ms() + ms;
  for (;;) {
    have = read_events(ev, 64, have);
    if (n > 0 && have >= n) break;
    double left = end - now_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = ctx->async_fd, .events = POLLIN};
    poll(&p, 1, (int)(left + 1));
  }
  qsort(ev, (size_t)have, sizeof ev[0], evcmp);
  emit("{\"op\":\"ev\",\"ev\":[");
  for (int i = 0; i < have; i++) emit("%s\"%s\"", i ? "," : "", ev[i].s);
  emit("]}");
}

static void drain_channel(struct obj *o, int *count) {
  struct ibv_cq *cq;
  void *cqctx;
  while (o->chan && ibv_get_cq_event(o->chan, &cq, &cqctx) == 0) {
    ibv_ack_cq_events(cq, 1);
    if (count) (*count)++;
  }
}

/* ------------------------------------------------------------ steps */

static void step_cq(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_CQ);
  errno = 0;
  if (num(s, "chan", 0)) {
    o->chan = ibv_create_comp_channel(ctx);
    if (!o->chan) {
      emit("{\"op\":\"cq\",\"err\":%d}", errno_or(-1));
      o->kind = K_NONE;
      return;
    }
    fcntl(o->chan->fd, F_SETFL, fcntl(o->chan->fd, F_GETFL) | O_NONBLOCK);
  }
  o->cq = ibv_create_cq(ctx, (int)num(s, "cqe", 16), NULL, o->chan, 0);
  if (!o->cq) {
    emit("{\"op\":\"cq\",\"err\":%d}", errno_or(-1));
    if (o->chan) ibv_destroy_comp_channel(o->chan);
    o->chan = NULL;
    o->kind = K_NONE;
    return;
  }
  emit("{\"op\":\"cq\",\"err\":0}");
}

static void step_mr(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_MR);
  size_t len = (size_t)num(s, "len", 4096);
  o->len = len;
  o->buf = aligned_alloc(4096, (len + 4095) / 4096 * 4096);
  if (!o->buf) abort();
  memset(o->buf, 0, len);
  if (arg(s, "fill")) {
    unsigned seed = (unsigned)num(s, "fill", 0);
    for (size_t i = 0; i < len; i++) o->buf[i] = (unsigned char)((seed + 7 * i) & 0xff);
  }
  errno = 0;
  o->mr = ibv_reg_mr(pd, o->buf, len, (int)num(s, "acc", IBV_ACCESS_LOCAL_WRITE));
  if (!o->mr) {
    emit("{\"op\":\"mr\",\"err\":%d}", errno_or(-1));
    o->kind = K_NONE;
    return;
  }
  o->addr = (uint64_t)(uintptr_t)o->buf;
  o->lkey = o->mr->lkey;
  o->rkey = o->mr->rkey;
  emit("{\"op\":\"mr\",\"err\":0}");
}

static void step_srq(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_SRQ);
  struct ibv_srq_init_attr a;
  memset(&a, 0, sizeof a);
  a.attr.max_wr = (uint32_t)num(s, "wr", 16);
  a.attr.max_sge = (uint32_t)num(s, "sge", 1);
  a.attr.srq_limit = (uint32_t)num(s, "limit", 0);
  errno = 0;
  o->srq = ibv_create_srq(pd, &a);
  if (!o->srq) {
    emit("{\"op\":\"srq\",\"err\":%d}", errno_or(-1));
    o->kind = K_NONE;
    return;
  }
  emit("{\"op\":\"srq\",\"err\":0}");
}

static void step_qp(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_QP);
  struct obj *scq = live(s, "scq", K_CQ), *rcq = live(s, "rcq", K_CQ), *srq = live(s, "srq", K_SRQ);
  if (!scq || !rcq || (arg(s, "srq") && !srq)) {
    emit("{\"op\":\"qp\",\"skip\":1}");
    o->kind = K_NONE;
    return;
  }
  const char *t = arg(s, "type");
  struct ibv_qp_init_attr a;
  memset(&a, 0, sizeof a);
  a.qp_type = t && strcmp(t, "UD") == 0 ? IBV_QPT_UD : t && strcmp(t, "UC") == 0 ? IBV_QPT_UC : IBV_QPT_RC;
  a.send_cq = scq->cq;
  a.recv_cq = rcq->cq;
  a.srq = srq ? srq->srq : NULL;
  a.cap.max_send_wr = (uint32_t)num(s, "sw", 16);
  a.cap.max_recv_wr = (uint32_t)num(s, "rw", 16);
  a.cap.max_send_sge = (uint32_t)num(s, "ssge", 1);
  a.cap.max_recv_sge = (uint32_t)num(s, "rsge", 1);
  a.cap.max_inline_data = (uint32_t)num(s, "inl", 0);
  a.sq_sig_all = (int)num(s, "sigall", 0);
  o->qp_type = a.qp_type;
  errno = 0;
  o->qp = ibv_create_qp(pd, &a);
  if (!o->qp) {
    emit("{\"op\":\"qp\",\"err\":%d}", errno_or(-1));
    o->kind = K_NONE;
    return;
  }
  emit("{\"op\":\"qp\",\"err\":0}");
}

static void fill_av(struct ibv_ah_attr *av, int sgid) {
  memset(av, 0, sizeof *av);
  av->is_global = 1;
  av->grh.dgid = gid0;
  av->grh.sgid_index = (uint8_t)sgid;
  av->grh.hop_limit = 1;
  av->port_num = 1;
}

static void step_ah(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_AH);
  struct ibv_ah_attr av;
  fill_av(&av, 0);
  errno = 0;
  o->ah = ibv_create_ah(pd, &av);
  if (!o->ah) {
    emit("{\"op\":\"ah\",\"err\":%d}", errno_or(-1));
    o->kind = K_NONE;
    return;
  }
  emit("{\"op\":\"ah\",\"err\":0}");
}

static void step_mw(const struct step *s) {
  struct obj *o = add(arg(s, "n"), K_MW);
  errno = 0;
  o->mw = ibv_alloc_mw(pd, num(s, "type", 2) == 1 ? IBV_MW_TYPE_1 : IBV_MW_TYPE_2);
  if (!o->mw) {
    emit("{\"op\":\"mw\",\"err\":%d}", errno_or(-1));
    o->kind = K_NONE;
    return;
  }
  o->rkey = o->mw->rkey;
  emit("{\"op\":\"mw\",\"err\":0}");
}

/* The transition's standard attributes (std=1) and the step's fields. Returns -1 when a named object is missing. */
static int build_mod(const struct step *s, struct obj *q, struct ibv_qp_attr *a, int *mask) {
  int st = state_of(arg(s, "st"));
  memset(a, 0, sizeof *a);
  *mask = IBV_QP_STATE;
  a->qp_state = (enum ibv_qp_state)st;
  int ud = q->qp_type == IBV_QPT_UD, uc = q->qp_type == IBV_QPT_UC;
  struct obj *peer = arg(s, "peer") ? live(s, "peer", K_QP) : NULL;
  if (arg(s, "peer") && !peer) return -1;
  if (num(s, "std", 0)) {
    if (st == IBV_QPS_INIT) {
      a->pkey_index = 0;
      a->port_num = 1;
      *mask |= IBV_QP_PKEY_INDEX | IBV_QP_PORT;
      if (ud) {
        a->qkey = 0x11111111;
        *mask |= IBV_QP_QKEY;
      } else {
        a->qp_access_flags = uc ? IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE
                                : IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
        *mask |= IBV_QP_ACCESS_FLAGS;
      }
    } else if (st == IBV_QPS_RTR && !ud) {
      fill_av(&a->ah_attr, 0);
      a->path_mtu = port.active_mtu;
      a->dest_qp_num = peer ? peer->qp->qp_num : 0;
      a->rq_psn = 0;
      *mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
      if (!uc) {
        a->max_dest_rd_atomic = 1;
        a->min_rnr_timer = 12;
        *mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
      }
    } else if (st == IBV_QPS_RTS) {
      a->sq_psn = 0;
      *mask |= IBV_QP_SQ_PSN;
      if (!ud && !uc) {
        a->timeout = 14;
        a->retry_cnt = 7;
        a->rnr_retry = 7;
        a->max_rd_atomic = 1;
        *mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
      }
    }
  } else if (peer) {
    a->dest_qp_num = peer->qp->qp_num;
    *mask |= IBV_QP_DEST_QPN;
  }
  if (arg(s, "cur")) { a->cur_qp_state = (enum ibv_qp_state)state_of(arg(s, "cur")); *mask |= IBV_QP_CUR_STATE; }
  if (arg(s, "mtu")) { a->path_mtu = (enum ibv_mtu)num(s, "mtu", 0); *mask |= IBV_QP_PATH_MTU; }
  if (arg(s, "dest")) { a->dest_qp_num = (uint32_t)num(s, "dest", 0); *mask |= IBV_QP_DEST_QPN; }
  if (arg(s, "access")) { a->qp_access_flags = (unsigned)num(s, "access", 0); *mask |= IBV_QP_ACCESS_FLAGS; }
  if (arg(s, "pkey")) { a->pkey_index = (uint16_t)num(s, "pkey", 0); *mask |= IBV_QP_PKEY_INDEX; }
  if (arg(s, "port")) { a->port_num = (uint8_t)num(s, "port", 0); *mask |= IBV_QP_PORT; }
  if (arg(s, "qkey")) { a->qkey = (uint32_t)unum(s, "qkey", 0); *mask |= IBV_QP_QKEY; }
  if (arg(s, "timeout")) { a->timeout = (uint8_t)num(s, "timeout", 0); *mask |= IBV_QP_TIMEOUT; }
  if (arg(s, "retry")) { a->retry_cnt = (uint8_t)num(s, "retry", 0); *mask |= IBV_QP_RETRY_CNT; }
  if (arg(s, "rnr")) { a->rnr_retry = (uint8_t)num(s, "rnr", 0); *mask |= IBV_QP_RNR_RETRY; }
  if (arg(s, "min_rnr")) { a->min_rnr_timer = (uint8_t)num(s, "min_rnr", 0); *mask |= IBV_QP_MIN_RNR_TIMER; }
  if (arg(s, "rd_atomic")) { a->max_rd_atomic = (uint8_t)num(s, "rd_atomic", 0); *mask |= IBV_QP_MAX_QP_RD_ATOMIC; }
  if (arg(s, "dest_rd_atomic")) { a->max_dest_rd_atomic = (uint8_t)num(s, "dest_rd_atomic", 0); *mask |= IBV_QP_MAX_DEST_RD_ATOMIC; }
  if (arg(s, "sgid")) {
    if (!(*mask & IBV_QP_AV)) fill_av(&a->ah_attr, 0);
    a->ah_attr.grh.sgid_index = (uint8_t)num(s, "sgid", 0);
    *mask |= IBV_QP_AV;
  }
  *mask &= ~(int)num(s, "drop", 0);
  return 0;
}

static void step_mod(const struct step *s) {
  struct obj *q = live(s, "qp", K_QP);
  struct ibv_qp_attr a;
  int mask;
  if (!q || build_mod(s, q, &a, &mask) < 0) {
    emit("{\"op\":\"mod\",\"skip\":1}");
    return;
  }
  emit("{\"op\":\"mod\",\"err\":%d}", ibv_modify_qp(q->qp, &a, mask));
}

static void step_conn(const struct step *s) {
  struct obj *qa = live(s, "a", K_QP), *qb = live(s, "b", K_QP);
  if (!qa || !qb) {
    emit("{\"op\":\"conn\",\"skip\":1}");
    return;
  }
  static const char *sts[] = {"INIT", "RTR", "RTS"};
  int err = 0;
  for (int i = 0; i < 3 && !err; i++) {
    for (int k = 0; k < 2 && !err; k++) {
      struct obj *q = k ? qb : qa;
      struct step m;
      memset(&m, 0, sizeof m);
      snprintf(m.op, sizeof m.op, "mod");
#define SETARG(K, V) do { snprintf(m.key[m.nargs], sizeof m.key[0], "%s", K); snprintf(m.val[m.nargs], sizeof m.val[0], "%s", V); m.nargs++; } while (0)
      SETARG("st", sts[i]);
      SETARG("std", "1");
      SETARG("peer", k ? qa->name : qb->name);
      if (i == 1 && arg(s, "min_rnr")) SETARG("min_rnr", arg(s, "min_rnr"));
      if (i == 2) {
        if (arg(s, "rnr")) SETARG("rnr", arg(s, "rnr"));
        if (arg(s, "timeout")) SETARG("timeout", arg(s, "timeout"));
        if (arg(s, "retry")) SETARG("retry", arg(s, "retry"));
      }
#undef SETARG
      struct ibv_qp_attr a;
      int mask;
      build_mod(&m, q, &a, &mask);
      err = ibv_modify_qp(q->qp, &a, mask);
    }
  }
  emit("{\"op\":\"conn\",\"err\":%d}", err);
}

/* The scatter/gather list of a step: nsge entries of len bytes each, from mr+off. */
static int build_sges(const struct step *s, struct ibv_sge *sg, int *nsge) {
  struct obj *m = find(arg(s, "mr"));
  if (arg(s, "mr") && (!m || m->kind != K_MR)) return -1;
  *nsge = (int)num(s, "nsge", m ? 1 : 0);
  if (*nsge > MAX_SGE) *nsge = MAX_SGE;
  uint32_t len = (uint32_t)num(s, "len", 0);
  const char *lk = arg(s, "lkey");
  for (int i = 0; i < *nsge; i++) {
    sg[i].addr = m->addr + (uint64_t)num(s, "off", 0) + (uint64_t)i * len;
    sg[i].length = len;
    sg[i].lkey = lk && strcmp(lk, "bad") == 0 ? BAD_KEY : m->lkey;
  }
  return 0;
}

static int resolve_rkey(const char *name, uint32_t *rkey) {
  if (!name) { *rkey = 0; return 0; }
  if (strcmp(name, "bad") == 0) { *rkey = BAD_KEY; return 0; }
  struct obj *o = find(name);
  if (!o || (o->kind != K_MR && o->kind != K_MW)) return -1;
  *rkey = o->rkey;
  return 0;
}

static uint32_t inc_rkey(uint32_t rkey) { return (rkey & 0xffffff00u) | ((rkey + 1) & 0xffu); }

static void step_send(const struct step *s) {
  struct obj *q = live(s, "qp", K_QP);
  static struct ibv_send_wr wr[MAX_WR];
  static struct ibv_sge sg[MAX_WR][MAX_SGE];
  int op = wr_opcode(arg(s, "op"));
  int count = (int)num(s, "count", 1);
  uint32_t rkey;
  struct obj *rmr = arg(s, "rmr") ? find(arg(s, "rmr")) : NULL;
  struct obj *ah = arg(s, "ah") ? live(s, "ah", K_AH) : NULL, *rqp = arg(s, "rqp") ? live(s, "rqp", K_QP) : NULL;
  struct obj *mw = arg(s, "mw") ? live(s, "mw", K_MW) : NULL, *bmr = arg(s, "bmr") ? live(s, "bmr", K_MR) : NULL;
  int nsge = 0;
  if (!q || op < 0 || count > MAX_WR || resolve_rkey(arg(s, "rkey"), &rkey) < 0 || (arg(s, "rmr") && !rmr) ||
      (arg(s, "ah") && !ah) || (arg(s, "rqp") && !rqp) || (arg(s, "mw") && !mw) || (arg(s, "bmr") && !bmr) ||
      build_sges(s, sg[0], &nsge) < 0) {
    emit("{\"op\":\"send\",\"skip\":1}");
    return;
  }
  uint64_t id = (uint64_t)num(s, "id", 0);
  uint32_t newkey = mw ? inc_rkey(mw->rkey) : 0;
  memset(wr, 0, sizeof wr[0] * (size_t)(count > 0 ? count : 1));
  for (int i = 0; i < count; i++) {
    struct ibv_send_wr *w = &wr[i];
    memcpy(sg[i], sg[0], sizeof sg[0]);
    w->wr_id = id + (uint64_t)i;
    w->opcode = (enum ibv_wr_opcode)op;
    w->send_flags = (unsigned)num(s, "flags", 0);
    w->sg_list = nsge ? sg[i] : NULL;
    w->num_sge = nsge;
    w->next = i + 1 < count ? &wr[i + 1] : NULL;
    if (op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_RDMA_WRITE_WITH_IMM) w->imm_data = htonl((uint32_t)unum(s, "imm", 0));
    if (op == IBV_WR_LOCAL_INV || op == IBV_WR_SEND_WITH_INV) w->invalidate_rkey = rkey;
    if (op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
      w->wr.atomic.remote_addr = rmr ? rmr->addr + (uint64_t)num(s, "roff", 0) : 0;
      w->wr.atomic.rkey = rkey;
      w->wr.atomic.compare_add = op == IBV_WR_ATOMIC_CMP_AND_SWP ? unum(s, "cmp", 0) : unum(s, "add", 0);
      w->wr.atomic.swap = unum(s, "swap", 0);
    } else if (q->qp_type == IBV_QPT_UD) {
      w->wr.ud.ah = ah ? ah->ah : NULL;
      w->wr.ud.remote_qpn = rqp ? rqp->qp->qp_num : 0;
      w->wr.ud.remote_qkey = (uint32_t)unum(s, "qkey", 0);
    } else if (op != IBV_WR_BIND_MW) {
      w->wr.rdma.remote_addr = rmr ? rmr->addr + (uint64_t)num(s, "roff", 0) : 0;
      w->wr.rdma.rkey = rkey;
    }
    if (op == IBV_WR_BIND_MW && mw && bmr) {
      w->bind_mw.mw = mw->mw;
      w->bind_mw.rkey = newkey;
      w->bind_mw.bind_info.mr = bmr->mr;
      w->bind_mw.bind_info.addr = bmr->addr + (uint64_t)num(s, "boff", 0);
      w->bind_mw.bind_info.length = (uint64_t)num(s, "blen", 0);
      w->bind_mw.bind_info.mw_access_flags = (unsigned)num(s, "bacc", 0);
    }
  }
  struct ibv_send_wr *bad = NULL;
  int err = ibv_post_send(q->qp, count ? wr : NULL, &bad);
  if (!err && mw) mw->rkey = newkey;
  emit("{\"op\":\"send\",\"err\":%d,\"bad\":%d}", err, err && bad ? (int)(bad - wr) : -1);
}

static void step_recv(const struct step *s, int srq) {
  static struct ibv_recv_wr wr[MAX_WR];
  static struct ibv_sge sg[MAX_WR][MAX_SGE];
  const char *opn = srq ? "srecv" : "recv";
  struct obj *q = srq ? live(s, "srq", K_SRQ) : live(s, "qp", K_QP);
  int count = (int)num(s, "count", 1), nsge = 0;
  if (!q || count > MAX_WR || build_sges(s, sg[0], &nsge) < 0) {
    emit("{\"op\":\"%s\",\"skip\":1}", opn);
    return;
  }
  uint64_t id = (uint64_t)num(s, "id", 0);
  memset(wr, 0, sizeof wr[0] * (size_t)(count > 0 ? count : 1));
  for (int i = 0; i < count; i++) {
    memcpy(sg[i], sg[0], sizeof sg[0]);
    wr[i].wr_id = id + (uint64_t)i;
    wr[i].sg_list = nsge ? sg[i] : NULL;
    wr[i].num_sge = nsge;
    wr[i].next = i + 1 < count ? &wr[i + 1] : NULL;
  }
  struct ibv_recv_wr *bad = NULL;
  int err = srq ? ibv_post_srq_recv(q->srq, count ? wr : NULL, &bad) : ibv_post_recv(q->qp, count ? wr : NULL, &bad);
  emit("{\"op\":\"%s\",\"err\":%d,\"bad\":%d}", opn, err, err && bad ? (int)(bad - wr) : -1);
}

static void step_poll(const struct step *s) {
  struct obj *c = live(s, "cq", K_CQ);
  if (!c) {
    emit("{\"op\":\"poll\",\"skip\":1}");
    return;
  }
  static struct ibv_wc wc[MAX_WC];
  int n = (int)num(s, "n", 0), ms = (int)num(s, "ms", DEFAULT_MS), have = 0, perr = 0;
  double end = now_ms() + ms;
  for (;;) {
    int r = ibv_poll_cq(c->cq, MAX_WC - have, wc + have);
    if (r < 0) { perr = r; break; }
    have += r;
    if (have >= MAX_WC) break;
    if (r > 0) continue;
    if (have >= n || now_ms() >= end) break;
    usleep(1000);
  }
  emit("{\"op\":\"poll\",");
  if (perr) emit("\"perr\":%d,", perr);
  emit("\"wc\":[");
  for (int i = 0; i < have; i++) {
    struct ibv_wc *w = &wc[i];
    const char *qn = name_of_qpn(w->qp_num);
    struct obj *qo = find(qn);
    unsigned fl = named_wc_flags(w->wc_flags);
    emit("%s{\"id\":%llu,\"st\":\"%s\",\"opc\":\"%s\",\"len\":%u,\"imm\":%u,\"fl\":%u,\"qp\":\"%s\"", i ? "," : "",
         (unsigned long long)w->wr_id, wc_status(w->status), wc_opcode(w->opcode), w->byte_len,
         (fl & IBV_WC_WITH_IMM) ? ntohl(w->imm_data) : 0u, fl, qn);
    if (fl & IBV_WC_WITH_INV) emit(",\"inv\":\"%s\"", name_of_rkey(w->invalidated_rkey));
    if (qo && qo->qp_type == IBV_QPT_UD && w->status == IBV_WC_SUCCESS && (w->opcode & IBV_WC_RECV)) emit(",\"src\":\"%s\"", name_of_qpn(w->src_qp));
    emit("}");
  }
  emit("]}");
}

static void step_state(const struct step *s) {
  struct obj *q = live(s, "qp", K_QP);
  if (!q) {
    emit("{\"op\":\"state\",\"skip\":1}");
    return;
  }
  struct ibv_qp_attr a;
  struct ibv_qp_init_attr ia;
  int err = ibv_query_qp(q->qp, &a, IBV_QP_STATE, &ia);
  if (err) emit("{\"op\":\"state\",\"err\":%d}", err);
  else emit("{\"op\":\"state\",\"st\":\"%s\"}", (unsigned)a.qp_state < 7 ? state_names[a.qp_state] : "?");
}

static void step_qcap(const struct step *s) {
  struct obj *q = live(s, "qp", K_QP);
  if (!q) {
    emit("{\"op\":\"qcap\",\"skip\":1}");
    return;
  }
  struct ibv_qp_attr a;
  struct ibv_qp_init_attr ia;
  int err = ibv_query_qp(q->qp, &a, IBV_QP_CAP, &ia);
  if (err) emit("{\"op\":\"qcap\",\"err\":%d}", err);
  else emit("{\"op\":\"qcap\",\"sw\":%u,\"rw\":%u,\"ssge\":%u,\"rsge\":%u,\"inl\":%u}", ia.cap.max_send_wr, ia.cap.max_recv_wr,
            ia.cap.max_send_sge, ia.cap.max_recv_sge, ia.cap.max_inline_data);
}

static void step_mem(const struct step *s) {
  struct obj *m = find(arg(s, "mr"));
  if (!m || m->kind != K_MR) {
    emit("{\"op\":\"mem\",\"skip\":1}");
    return;
  }
  size_t off = (size_t)num(s, "off", 0), len = (size_t)num(s, "len", 0);
  if (off > m->len) off = m->len;
  if (len > m->len - off) len = m->len - off;
  emit("{\"op\":\"mem\",\"hex\":\"");
  for (size_t i = 0; i < len; i++) emit("%02x", m->buf[off + i]);
  emit("\"}");
}

static void step_set(const struct step *s) {
  struct obj *m = find(arg(s, "mr"));
  size_t off = (size_t)num(s, "off", 0);
  if (!m || m->kind != K_MR || off + 8 > m->len) {
    emit("{\"op\":\"set\",\"skip\":1}");
    return;
  }
  uint64_t v = unum(s, "u64", 0);
  for (int i = 0; i < 8; i++) m->buf[off + (size_t)i] = (unsigned char)(v >> (8 * i));
  emit("{\"op\":\"set\"}");
}

static void step_arm(const struct step *s) {
  struct obj *c = live(s, "cq", K_CQ);
  if (!c) emit("{\"op\":\"arm\",\"skip\":1}");
  else emit("{\"op\":\"arm\",\"err\":%d}", ibv_req_notify_cq(c->cq, (int)num(s, "sol", 0)));
}

static void step_notif(const struct step *s) {
  struct obj *c = live(s, "cq", K_CQ);
  if (!c || !c->chan) {
    emit("{\"op\":\"notif\",\"skip\":1}");
    return;
  }
  int count = 0, ms = (int)num(s, "ms", DEFAULT_MS);
  double end = now_ms() + ms;
  for (;;) {
    drain_channel(c, &count);
    double left = end - now_ms();
    if (count > 0 || left <= 0) break;
    struct pollfd p = {.fd = c->chan->fd, .events = POLLIN};
    poll(&p, 1, (int)(left + 1));
  }
  emit("{\"op\":\"notif\",\"n\":%d}", count);
}

static void step_resize(const struct step *s) {
  struct obj *c = live(s, "cq", K_CQ);
  if (!c) emit("{\"op\":\"resize\",\"skip\":1}");
  else emit("{\"op\":\"resize\",\"err\":%d}", ibv_resize_cq(c->cq, (int)num(s, "cqe", 1)));
}

static void step_cqcap(const struct step *s) {
  struct obj *c = live(s, "cq", K_CQ);
  if (!c) emit("{\"op\":\"cqcap\",\"skip\":1}");
  else emit("{\"op\":\"cqcap\",\"cqe\":%d}", c->cq->cqe);
}

static void step_msrq(const struct step *s) {
  struct obj *q = live(s, "srq", K_SRQ);
  if (!q) {
    emit("{\"op\":\"msrq\",\"skip\":1}");
    return;
  }
  struct ibv_srq_attr a;
  memset(&a, 0, sizeof a);
  int mask = 0;
  if (arg(s, "limit")) { a.srq_limit = (uint32_t)num(s, "limit", 0); mask |= IBV_SRQ_LIMIT; }
  if (arg(s, "maxwr")) { a.max_wr = (uint32_t)num(s, "maxwr", 0); mask |= IBV_SRQ_MAX_WR; }
  emit("{\"op\":\"msrq\",\"err\":%d}", ibv_modify_srq(q->srq, &a, mask));
}

static void step_qsrq(const struct step *s, int cap) {
  struct obj *q = live(s, "srq", K_SRQ);
  const char *opn = cap ? "srqcap" : "qsrq";
  if (!q) {
    emit("{\"op\":\"%s\",\"skip\":1}", opn);
    return;
  }
  struct ibv_srq_attr a;
  int err = ibv_query_srq(q->srq, &a);
  if (err) emit("{\"op\":\"%s\",\"err\":%d}", opn, err);
  else if (cap) emit("{\"op\":\"srqcap\",\"wr\":%u}", a.max_wr);
  else emit("{\"op\":\"qsrq\",\"limit\":%u}", a.srq_limit);
}

static void step_bind1(const struct step *s) {
  struct obj *q = live(s, "qp", K_QP), *mw = live(s, "mw", K_MW), *m = live(s, "mr", K_MR);
  if (!q || !mw || !m) {
    emit("{\"op\":\"bind1\",\"skip\":1}");
    return;
  }
  struct ibv_mw_bind b;
  memset(&b, 0, sizeof b);
  b.wr_id = (uint64_t)num(s, "id", 0);
  b.send_flags = IBV_SEND_SIGNALED;
  b.bind_info.mr = m->mr;
  b.bind_info.addr = m->addr + (uint64_t)num(s, "off", 0);
  b.bind_info.length = (uint64_t)num(s, "len", 0);
  b.bind_info.mw_access_flags = (unsigned)num(s, "acc", 0);
  int err = ibv_bind_mw(q->qp, mw->mw, &b);
  if (!err) mw->rkey = mw->mw->rkey;
  emit("{\"op\":\"bind1\",\"err\":%d}", err);
}

static void step_dereg(const struct step *s) {
  struct obj *m = live(s, "mr", K_MR);
  if (!m) {
    emit("{\"op\":\"dereg\",\"skip\":1}");
    return;
  }
  int err = ibv_dereg_mr(m->mr);
  if (!err) {
    m->mr = NULL;
    m->dead = 1;
  }
  emit("{\"op\":\"dereg\",\"err\":%d}", err);
}

/* ------------------------------------------------------------ cases */

static void cleanup(void) {
  read_events(NULL, 0, 0);
  for (int i = 0; i < nobjs; i++) drain_channel(&objs[i], NULL);
  for (int k = 0; k < 6; k++) {
    static const enum kind order[] = {K_MW, K_QP, K_AH, K_SRQ, K_MR, K_CQ};
    for (int i = nobjs - 1; i >= 0; i--) {
      struct obj *o = &objs[i];
      if (o->kind != order[k]) continue;
      int err = 0;
      switch (o->kind) {
        case K_QP: err = ibv_destroy_qp(o->qp); break;
        case K_MW: err = ibv_dealloc_mw(o->mw); break;
        case K_AH: err = ibv_destroy_ah(o->ah); break;
        case K_SRQ: err = ibv_destroy_srq(o->srq); break;
        case K_MR: if (o->mr) err = ibv_dereg_mr(o->mr); free(o->buf); break;
        case K_CQ:
          err = ibv_destroy_cq(o->cq);
          if (!err && o->chan) err = ibv_destroy_comp_channel(o->chan);
          break;
        default: break;
      }
      if (err) fprintf(stderr, "recorder: destroying %s failed: %s\n", o->name, strerror(err));
    }
  }
  nobjs = 0;
}

static void run_step(const struct step *s) {
  const char *op = s->op;
  if (!strcmp(op, "cq")) step_cq(s);
  else if (!strcmp(op, "mr")) step_mr(s);
  else if (!strcmp(op, "srq")) step_srq(s);
  else if (!strcmp(op, "qp")) step_qp(s);
  else if (!strcmp(op, "ah")) step_ah(s);
  else if (!strcmp(op, "mw")) step_mw(s);
  else if (!strcmp(op, "mod")) step_mod(s);
  else if (!strcmp(op, "conn")) step_conn(s);
  else if (!strcmp(op, "send")) step_send(s);
  else if (!strcmp(op, "recv")) step_recv(s, 0);
  else if (!strcmp(op, "srecv")) step_recv(s, 1);
  else if (!strcmp(op, "poll")) step_poll(s);
  else if (!strcmp(op, "state")) step_state(s);
  else if (!strcmp(op, "qcap")) step_qcap(s);
  else if (!strcmp(op, "mem")) step_mem(s);
  else if (!strcmp(op, "set")) step_set(s);
  else if (!strcmp(op, "arm")) step_arm(s);
  else if (!strcmp(op, "notif")) step_notif(s);
  else if (!strcmp(op, "resize")) step_resize(s);
  else if (!strcmp(op, "cqcap")) step_cqcap(s);
  else if (!strcmp(op, "msrq")) step_msrq(s);
  else if (!strcmp(op, "qsrq")) step_qsrq(s, 0);
  else if (!strcmp(op, "srqcap")) step_qsrq(s, 1);
  else if (!strcmp(op, "bind1")) step_bind1(s);
  else if (!strcmp(op, "dereg")) step_dereg(s);
  else if (!strcmp(op, "ev")) step_ev(s);
  else {
    fprintf(stderr, "recorder: unknown step %s\n", op);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: recorder CASES DEVICE RDMA_CORE_VERSION [NAME_PREFIX]\n");
    return 2;
  }
  const char *prefix = argc > 4 ? argv[4] : "";
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  int n;
  struct ibv_device **list = ibv_get_device_list(&n);
  struct ibv_device *dev = NULL;
  for (int i = 0; list && i < n; i++)
    if (strcmp(ibv_get_device_name(list[i]), argv[2]) == 0) dev = list[i];
  if (!dev) {
    fprintf(stderr, "recorder: no device %s\n", argv[2]);
    return 2;
  }
  ctx = ibv_open_device(dev);
  if (!ctx) {
    perror("ibv_open_device");
    return 2;
  }
  kernel_wc_flags = provider_is_kernel_wc(argv[2]);
  fcntl(ctx->async_fd, F_SETFL, fcntl(ctx->async_fd, F_GETFL) | O_NONBLOCK);
  if (ibv_query_port(ctx, 1, &port) || ibv_query_gid(ctx, 1, 0, &gid0)) {
    perror("ibv_query_port/gid");
    return 2;
  }
  pd = NULL;
  struct utsname u;
  uname(&u);
  printf("{\"header\":{\"kernel\":\"%s\",\"rdma_core\":\"%s\",\"device\":\"%s\",\"active_mtu\":%d}}\n", u.release, argv[3], argv[2],
         port.active_mtu);
  char line[4096], name[256] = "", area[64] = "";
  int in_case = 0, skip = 0, nsteps = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    if (!strncmp(line, "case ", 5)) {
      if (sscanf(line, "case %255s %63s", name, area) != 2) continue;
      in_case = 1;
      skip = strncmp(name, prefix, strlen(prefix)) != 0;
      if (skip) continue;
      outlen = 0;
      nsteps = 0;
      pd = ibv_alloc_pd(ctx);
      if (!pd) {
        perror("ibv_alloc_pd");
        return 2;
      }
      emit("{\"case\":\"%s\",\"area\":\"%s\",\"r\":[", name, area);
      continue;
    }
    if (!in_case || skip) {
      if (!strncmp(line, "end", 3)) in_case = 0;
      continue;
    }
    if (!strncmp(line, "end", 3)) {
      emit("]}");
      cleanup();
      ibv_dealloc_pd(pd);
      pd = NULL;
      fwrite(out, 1, outlen, stdout);
      fputc('\n', stdout);
      fflush(stdout);
      in_case = 0;
      continue;
    }
    struct step s;
    if (parse(line, &s) < 0) continue;
    if (nsteps++) emit(",");
    run_step(&s);
  }
  ibv_close_device(ctx);
  ibv_free_device_list(list);
  return 0;
}
