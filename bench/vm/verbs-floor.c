/*
 * The hardware-path floor for `npm run bench -- --vm`: the same verbs the
 * benchmark sends through the broker, called directly through libibverbs on
 * a kernel device (rxe0 in the soft-RoCE VM). Built with gcc at bench time.
 *
 *   verbs-floor DEVICE MAX_ITERS MAX_MS
 *
 * Prints one JSON object per line: {"label", "n", "p50_us", "p99_us", "mean_us"}.
 * Labels match bench/verbs.ts (pd.alloc, mr4k.reg, qp.modify.rts, write, ...).
 * MRs register a buffer allocated once (as an application would); the broker
 * allocates and maps a memfd per MR, which is part of what it costs.
 *
 * Then the fast lane's counterparts (bench/lane.ts), on a QP pair of their
 * own: "write.event", post + poll of the same 64 B RDMA WRITE sleeping on a
 * completion channel (req_notify, post, ibv_get_cq_event, poll) as the lane's
 * eventfd mode does; and one line per chain length,
 * {"throughput": PER, "wrs", "wrs_per_sec", "cpu_us_per_wr"}: WRs per second
 * with PER (1, 32) signaled WRs per ibv_post_send, a window of 512 in flight
 * drained as it goes, and this process's CPU (user + system) per WR.
 */
#include <infiniband/verbs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { MAX_LABELS = 32 };

struct series {
  const char *label;
  double *v;
  size_t n, cap;
};

static struct series all[MAX_LABELS];
static int nlabels;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void rec(const char *label, double us) {
  struct series *s = NULL;
  for (int i = 0; i < nlabels; i++)
    if (strcmp(all[i].label, label) == 0) s = &all[i];
  if (!s) {
    if (nlabels == MAX_LABELS) return;
    s = &all[nlabels++];
    s->label = label;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1024;
    s->v = realloc(s->v, s->cap * sizeof(double));
    if (!s->v) abort();
  }
  s->v[s->n++] = us;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const struct series *s, double q) {
  size_t i = (size_t)(q * (double)s->n + 0.999999);
  if (i > 0) i--;
  if (i >= s->n) i = s->n - 1;
  return s->v[i];
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

#define TIMED(label, stmt)            \
  do {                                \
    double t0_ = now_us();            \
    stmt;                             \
    if (measure) rec(label, now_us() - t0_); \
  } while (0)

static struct ibv_qp *make_qp_n(struct ibv_pd *pd, struct ibv_cq *cq, uint32_t wrs) {
  struct ibv_qp_init_attr a;
  memset(&a, 0, sizeof a);
  a.send_cq = cq;
  a.recv_cq = cq;
  a.qp_type = IBV_QPT_RC;
  a.cap.max_send_wr = wrs;
  a.cap.max_recv_wr = 16;
  a.cap.max_send_sge = 1;
  a.cap.max_recv_sge = 1;
  struct ibv_qp *qp = ibv_create_qp(pd, &a);
  if (!qp) die("ibv_create_qp");
  return qp;
}

static struct ibv_qp *make_qp(struct ibv_pd *pd, struct ibv_cq *cq) { return make_qp_n(pd, cq, 64); }

static const int ACCESS = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
static union ibv_gid gid;

static int to_init(struct ibv_qp *qp) {
  struct ibv_qp_attr a;
  memset(&a, 0, sizeof a);
  a.qp_state = IBV_QPS_INIT;
  a.pkey_index = 0;
  a.port_num = 1;
  a.qp_access_flags = ACCESS;
  return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int to_rtr(struct ibv_qp *qp, uint32_t dest) {
  struct ibv_qp_attr a;
  memset(&a, 0, sizeof a);
  a.qp_state = IBV_QPS_RTR;
  a.path_mtu = IBV_MTU_1024;
  a.dest_qp_num = dest;
  a.rq_psn = 0;
  a.max_dest_rd_atomic = 1;
  a.min_rnr_timer = 12;
  a.ah_attr.is_global = 1;
  a.ah_attr.grh.dgid = gid;
  a.ah_attr.grh.sgid_index = 0;
  a.ah_attr.grh.hop_limit = 1;
  a.ah_attr.port_num = 1;
  return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int to_rts(struct ibv_qp *qp) {
  struct ibv_qp_attr a;
  memset(&a, 0, sizeof a);
  a.qp_state = IBV_QPS_RTS;
  a.timeout = 14;
  a.retry_cnt = 7;
  a.rnr_retry = 7;
  a.sq_psn = 0;
  a.max_rd_atomic = 1;
  return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                                  IBV_QP_MAX_QP_RD_ATOMIC);
}

static int to_reset(struct ibv_qp *qp) {
  struct ibv_qp_attr a;
  memset(&a, 0, sizeof a);
  a.qp_state = IBV_QPS_RESET;
  return ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

static double cpu_us(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u)) die("getrusage");
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static void connect_pair(struct ibv_qp *a, struct ibv_qp *b) {
  if (to_init(a) || to_init(b) || to_rtr(a, b->qp_num) || to_rtr(b, a->qp_num) || to_rts(a) || to_rts(b)) die("connect");
}


enum { WINDOW = 512, MAX_PER = 32 };

/* The fast lane's rows with libibverbs alone: see the header comment. */
static void lane_counterparts(struct ibv_context *ctx, struct ibv_pd *pd, struct ibv_mr *mr, char *buf, long max_iters,
                              double max_ms) {
  struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
  if (!ch) die("ibv_create_comp_channel");
  struct ibv_cq *cq = ibv_create_cq(ctx, 4096, NULL, ch, 0);
  if (!cq) die("ibv_create_cq");
  struct ibv_qp *a = make_qp_n(pd, cq, 1024), *b = make_qp_n(pd, cq, 1024);
  connect_pair(a, b);
  struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = 64, .lkey = mr->lkey };
  struct ibv_send_wr wrs[MAX_PER], *bad = NULL;
  memset(wrs, 0, sizeof wrs);
  for (int i = 0; i < MAX_PER; i++) {
    wrs[i].wr_id = (uint64_t)i;
    wrs[i].opcode = IBV_WR_RDMA_WRITE;
    wrs[i].send_flags = IBV_SEND_SIGNALED;
    wrs[i].sg_list = &sge;
    wrs[i].num_sge = 1;
    wrs[i].wr.rdma.remote_addr = (uintptr_t)buf + 2048;
    wrs[i].wr.rdma.rkey = mr->rkey;
  }
  struct ibv_wc wc[64];
  long min_iters = max_iters < 50 ? max_iters : 50;

  /* Post + poll, sleeping on the completion channel. */
  double start = 0;
  wrs[0].next = NULL;
  for (long it = -20; it < max_iters; it++) {
    int measure = it >= 0;
    if (it == 0) start = now_us();
    double t0 = now_us();
    if (ibv_req_notify_cq(cq, 0)) die("ibv_req_notify_cq");
    if (ibv_post_send(a, &wrs[0], &bad)) die("ibv_post_send");
    int got = ibv_poll_cq(cq, 1, wc);
    while (got == 0) {
      struct ibv_cq *ev_cq;
      void *ev_ctx;
      if (ibv_get_cq_event(ch, &ev_cq, &ev_ctx)) die("ibv_get_cq_event");
      ibv_ack_cq_events(ev_cq, 1);
      got = ibv_poll_cq(cq, 1, wc);
      if (got == 0 && ibv_req_notify_cq(cq, 0)) die("ibv_req_notify_cq");
      if (got == 0) got = ibv_poll_cq(cq, 1, wc);
    }
    if (got < 0) die("ibv_poll_cq");
    if (wc[0].status != IBV_WC_SUCCESS) {
      fprintf(stderr, "completion status %d\n", wc[0].status);
      exit(1);
    }
    if (measure) rec("write.event", now_us() - t0);
    if (measure && it + 1 >= min_iters && now_us() - start > max_ms * 1000) break;
  }

  /* WRs per second, PER WRs per ibv_post_send (the same window and time budget as bench/lane.ts). */
  double ms = max_ms < 500 ? 500 : max_ms > 3000 ? 3000 : max_ms;
  static const int pers[] = { 1, 32 };
  for (size_t k = 0; k < sizeof pers / sizeof pers[0]; k++) {
    int per = pers[k];
    for (int i = 0; i < MAX_PER; i++) wrs[i].next = i + 1 < per ? &wrs[i + 1] : NULL;
    long posted = 0, done = 0;
    double c0 = cpu_us(), t0 = now_us(), end = t0 + ms * 1000;
    while (now_us() < end) {
      while (posted - done + per <= WINDOW) {
        if (ibv_post_send(a, &wrs[0], &bad)) die("ibv_post_send (chain)");
        posted += per;
      }
      int got = ibv_poll_cq(cq, 64, wc);
      if (got < 0) die("ibv_poll_cq");
      for (int i = 0; i < got; i++)
        if (wc[i].status != IBV_WC_SUCCESS) {
          fprintf(stderr, "completion status %d\n", wc[i].status);
          exit(1);
        }
      done += got;
    }
    for (long spins = 0; done < posted; spins++) {
      int got = ibv_poll_cq(cq, 64, wc);
      if (got < 0) die("ibv_poll_cq");
      done += got;
      if (spins > 100000000L) die("completions missing");
    }
    double wall = now_us() - t0, cpu = cpu_us() - c0;
    printf("{\"throughput\":%d,\"wrs\":%ld,\"wrs_per_sec\":%.1f,\"cpu_us_per_wr\":%.3f}\n", per, done,
           (double)done * 1e6 / wall, cpu / (double)done);
  }
  ibv_destroy_qp(a);
  ibv_destroy_qp(b);
  ibv_destroy_cq(cq);
  ibv_destroy_comp_channel(ch);
}

int main(int argc, char **argv) {
  const char *devname = argc > 1 ? argv[1] : "rxe0";
  long max_iters = argc > 2 ? atol(argv[2]) : 2000;
  double max_ms = argc > 3 ? atof(argv[3]) : 3000;
  long min_iters = max_iters < 50 ? max_iters : 50;

  int n = 0;
  struct ibv_device **list = ibv_get_device_list(&n);
  if (!list) die("ibv_get_device_list");
  struct ibv_device *dev = NULL;
  for (int i = 0; i < n; i++)
    if (strcmp(ibv_get_device_name(list[i]), devname) == 0) dev = list[i];
  if (!dev) {
    fprintf(stderr, "no device %s\n", devname);
    return 1;
  }
  struct ibv_context *ctx = ibv_open_device(dev);
  if (!ctx) die("ibv_open_device");
  if (ibv_query_gid(ctx, 1, 0, &gid)) die("ibv_query_gid");

  struct ibv_pd *pd = ibv_alloc_pd(ctx);
  struct ibv_cq *cq = ibv_create_cq(ctx, 256, NULL, NULL, 0);
  if (!pd || !cq) die("fixture");
  char *buf4k = aligned_alloc(4096, 4096);
  char *buf1m = aligned_alloc(4096, 1 << 20);
  char *wbuf = aligned_alloc(4096, 4096);
  if (!buf4k || !buf1m || !wbuf) die("aligned_alloc");
  memset(buf4k, 0, 4096);
  memset(buf1m, 0, 1 << 20);
  memset(wbuf, 0, 4096);
  struct ibv_mr *wmr = ibv_reg_mr(pd, wbuf, 4096, ACCESS);
  if (!wmr) die("ibv_reg_mr");
  struct ibv_qp *qa = make_qp(pd, cq), *qb = make_qp(pd, cq), *qm = make_qp(pd, cq);
  if (to_init(qa) || to_init(qb) || to_rtr(qa, qb->qp_num) || to_rtr(qb, qa->qp_num) || to_rts(qa) || to_rts(qb)) die("connect");

  double start = 0;
  for (long it = -20; it < max_iters; it++) {
    int measure = it >= 0;
    if (it == 0) start = now_us();
    struct ibv_pd *p;
    TIMED("pd.alloc", p = ibv_alloc_pd(ctx));
    if (!p) die("ibv_alloc_pd");
    TIMED("pd.dealloc", ibv_dealloc_pd(p));
    struct ibv_mr *m;
    TIMED("mr4k.reg", m = ibv_reg_mr(pd, buf4k, 4096, ACCESS));
    if (!m) die("ibv_reg_mr 4k");
    TIMED("mr4k.dereg", ibv_dereg_mr(m));
    TIMED("mr1m.reg", m = ibv_reg_mr(pd, buf1m, 1 << 20, ACCESS));
    if (!m) die("ibv_reg_mr 1m");
    TIMED("mr1m.dereg", ibv_dereg_mr(m));
    struct ibv_cq *c;
    TIMED("cq.create", c = ibv_create_cq(ctx, 256, NULL, NULL, 0));
    if (!c) die("ibv_create_cq");
    TIMED("cq.destroy", ibv_destroy_cq(c));
    struct ibv_qp *q;
    TIMED("qp.create", q = make_qp(pd, cq));
    TIMED("qp.destroy", ibv_destroy_qp(q));
    int rc = 0;
    TIMED("qp.modify.init", rc |= to_init(qm));
    TIMED("qp.modify.rtr", rc |= to_rtr(qm, qb->qp_num));
    TIMED("qp.modify.rts", rc |= to_rts(qm));
    TIMED("qp.modify.reset", rc |= to_reset(qm));
    if (rc) die("modify cycle");

    struct ibv_sge sge = { .addr = (uintptr_t)wbuf, .length = 64, .lkey = wmr->lkey };
    struct ibv_send_wr wr, *bad = NULL;
    memset(&wr, 0, sizeof wr);
    wr.wr_id = 1;
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.wr.rdma.remote_addr = (uintptr_t)wbuf + 2048;
    wr.wr.rdma.rkey = wmr->rkey;
    double t0 = now_us();
    TIMED("write.post", rc = ibv_post_send(qa, &wr, &bad));
    if (rc) die("ibv_post_send");
    struct ibv_wc wc;
    int got = 0;
    for (long spins = 0; got == 0; spins++) {
      got = ibv_poll_cq(cq, 1, &wc);
      if (got < 0) die("ibv_poll_cq");
      if (spins > 100000000L) die("no completion");
    }
    if (wc.status != IBV_WC_SUCCESS) {
      fprintf(stderr, "completion status %d\n", wc.status);
      return 1;
    }
    if (measure) rec("write", now_us() - t0);
    if (measure && it + 1 >= min_iters && now_us() - start > max_ms * 1000) break;
  }

  lane_counterparts(ctx, pd, wmr, wbuf, max_iters, max_ms);

  for (int i = 0; i < nlabels; i++) {
    struct series *s = &all[i];
    qsort(s->v, s->n, sizeof(double), cmp);
    double sum = 0;
    for (size_t k = 0; k < s->n; k++) sum += s->v[k];
    printf("{\"label\":\"%s\",\"n\":%zu,\"p50_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f}\n", s->label, s->n, pct(s, 0.5),
           pct(s, 0.99), sum / (double)s->n);
  }
  ibv_destroy_qp(qa);
  ibv_destroy_qp(qb);
  ibv_destroy_qp(qm);
  ibv_dereg_mr(wmr);
  ibv_destroy_cq(cq);
  ibv_dealloc_pd(pd);
  ibv_close_device(ctx);
  ibv_free_device_list(list);
  return 0;
}
