/**
 * The differential catalog: data-path cases as DATA, one list of steps each,
 * interpreted by three runners that must give the same answers:
 * - test/differential/recorder.c on a kernel device through libibverbs (its
 *   output, recorded on rxe0, is test/fixtures/rxe-answers.jsonl);
 * - runner-backend.ts against the `DeviceContext` interface (sim or ibverbs);
 * - runner-grpc.ts through the broker's gRPC API.
 *
 * The C program reads the catalog as text (test/differential/cases.txt,
 * rendered from this file by `renderCatalog`; catalog.test.ts checks it is
 * up to date): one `case NAME AREA` line, one line per step (`OP key=value
 * ...`), then `end`. Every case runs on a fresh PD named `pd` in the same
 * device context, and its objects are destroyed after its last step.
 *
 * Step vocabulary (values are decimal integers unless named):
 * - `cq n= cqe= [chan=1]`, `mr n= len= acc= [fill=SEED]` (fill: byte i is
 *   (SEED + 7i) & 0xff, else zeros), `srq n= wr= sge= [limit=]`,
 *   `qp n= type=RC|UC|UD scq= rcq= sw= rw= ssge= rsge= inl= [srq=] [sigall=1]`,
 *   `ah n=`, `mw n= type=1|2`: create; record `err` (0 or the errno).
 * - `mod qp= st=STATE [std=1] [peer=QP] [FIELD=v ...]`: ibv_modify_qp with the
 *   standard attributes of that transition (std=1) plus the fields given
 *   (each adds its mask bit; `drop=MASK` removes bits): record `err`.
 * - `conn a= b= [rnr= timeout= retry= min_rnr=]`: both QPs INIT, RTR, RTS
 *   to each other; record `err` (the first failure).
 * - `send qp= op= [mr= off= len= nsge= lkey=bad] [rmr= roff=] [rkey=MR|MW|bad]
 *   [imm=] [flags=] [id=] [count=] [cmp= swap= add=] [ah= rqp= qkey=]
 *   [mw= bmr= boff= blen= bacc=]`: one ibv_post_send of `count` WRs (ids
 *   id, id+1, ...; count=0 posts an empty list): record `err` and `bad` (the
 *   index of *bad_wr, -1 when none).
 * - `recv qp= ...`, `srecv srq= ...`: the same for receive WRs.
 * - `poll cq= n= [ms=]`: polls until `n` completions or `ms` (default
 *   {@link DEFAULT_WAIT_MS}) elapse, then once more without waiting; records
 *   every completion: wr_id, status, opcode, byte_len, imm_data, wc_flags
 *   (GRH, WITH_IMM and WITH_INV, by libibverbs' numbers), the QP (and for UD
 *   the source QP) by name, and for WITH_INV the invalidated key's MW or MR.
 * - `state qp=`: records qp_state. `mem mr= off= len=`: records the bytes (hex).
 *   `set mr= off= u64=`: stores a little-endian 64-bit value (no record).
 * - `arm cq= [sol=1]`: ibv_req_notify_cq (record err); `notif cq= [ms=]`: waits
 *   for the CQ's channel and records how many events arrived.
 * - `resize cq= cqe=`, `msrq srq= [limit=] [maxwr=]`: record err;
 *   `qsrq srq=`: records srq_limit.
 * - `bind1 qp= mw= mr= off= len= acc= [id=]`: ibv_bind_mw (type 1) (record err).
 * - `ev [n=] [ms=]`: the async events since the last `ev`, as `TYPE:object`
 *   names, sorted (timing between the two sides is not defined).
 * - `dereg mr=`: ibv_dereg_mr (record err).
 */

export type Area = 'error' | 'flush' | 'rnr' | 'atomic' | 'post' | 'cq' | 'ud' | 'modify' | 'srq' | 'mw';
export const AREAS: readonly Area[] = ['error', 'flush', 'rnr', 'atomic', 'post', 'cq', 'ud', 'modify', 'srq', 'mw'];

export type StepValue = string | number;
export interface Step {
  op: string;
  args: Record<string, StepValue>;
}

/** A field the standard leaves undefined for one case: `path` as the comparer reports it (`r[3].wc[0].opcode`). */
export interface UndefinedField {
  path: string;
  reason: string;
}

/**
 * A deliberate difference of the broker from the kernel, for the runners
 * through its gRPC API only (sim-grpc, rxe-grpc): where the broker refuses
 * before the device on purpose (a safety rule, a wire type), its own answer
 * at each path replaces the kernel's in the comparison. These fields are
 * still compared, against the broker's answer, so a change of the broker's
 * behaviour fails the test just as a change of the kernel's does.
 */
export interface BrokerAnswer {
  /** Paths as the comparer reports them (`r[8].err`, `r[9].wc`) and the broker's value there. */
  answers: Record<string, unknown>;
  reason: string;
}

export interface Case {
  name: string;
  area: Area;
  steps: Step[];
  undefinedFields?: UndefinedField[];
  broker?: BrokerAnswer;
}

/** Bounded wait of a poll or ev step when the count is not reached (ms). */
export const DEFAULT_WAIT_MS = 100;
/**
 * Bounded wait of a notif step. Longer: the step ends at the first event, so
 * only the steps where none comes wait it out, and on a loaded guest an event
 * through the backend's fd poller can take more than 100 ms (a late event
 * would be counted by the next notif step).
 */
export const NOTIFY_WAIT_MS = 1000;

// libibverbs values, written into the catalog as numbers
export const A = { LW: 1, RW: 2, RR: 4, RA: 8, BIND: 16 } as const;
export const ALL = A.LW | A.RW | A.RR | A.RA;
export const F = { FENCE: 1, SIG: 2, SOL: 4, INL: 8 } as const;

class CaseBuilder {
  readonly steps: Step[] = [];
  undefinedFields: UndefinedField[] = [];
  broker: BrokerAnswer | undefined;
  s(op: string, args: Record<string, StepValue | undefined> = {}): this {
    const clean: Record<string, StepValue> = {};
    for (const [k, v] of Object.entries(args)) if (v !== undefined) clean[k] = v;
    this.steps.push({ op, args: clean });
    return this;
  }
  /** Two RC (or UC) QPs a and b on their own CQs ca and cb, MRs la (a's local) and rb (b's target), connected. */
  pair(o: { type?: 'RC' | 'UC'; cqe?: number; sw?: number; rw?: number; ssge?: number; rsge?: number; inl?: number; racc?: number; lacc?: number;
    rlen?: number; conn?: Record<string, StepValue | undefined>; srq?: string; sigall?: number } = {}): this {
    this.s('cq', { n: 'ca', cqe: o.cqe ?? 32 });
    this.s('cq', { n: 'cb', cqe: o.cqe ?? 32 });
    this.s('mr', { n: 'la', len: 4096, acc: o.lacc ?? A.LW, fill: 1 });
    this.s('mr', { n: 'rb', len: o.rlen ?? 4096, acc: o.racc ?? ALL, fill: 2 });
    const caps = { sw: o.sw ?? 16, rw: o.rw ?? 16, ssge: o.ssge ?? 2, rsge: o.rsge ?? 2, inl: o.inl ?? 0 };
    this.s('qp', { n: 'a', type: o.type ?? 'RC', scq: 'ca', rcq: 'ca', ...caps, sigall: o.sigall });
    this.s('qp', { n: 'b', type: o.type ?? 'RC', scq: 'cb', rcq: 'cb', ...caps, srq: o.srq });
    this.s('conn', { a: 'a', b: 'b', ...(o.conn ?? {}) });
    return this;
  }
  states(...qps: string[]): this {
    for (const q of qps) this.s('state', { qp: q });
    return this;
  }
  undef(path: string, reason: string): this {
    this.undefinedFields.push({ path, reason });
    return this;
  }
  /** The broker's deliberate answer at these paths, and why (see {@link BrokerAnswer}). */
  brokerAnswers(reason: string, answers: Record<string, unknown>): this {
    this.broker = { reason, answers };
    return this;
  }
  /** The index the next step will have in the case's record (`r[i]`). */
  get next(): number {
    return this.steps.length;
  }
}

/** Why the broker refuses an SGE or a bind range outside the caller's own MRs (the bad-lkey and bind-beyond-mr cases). */
export const OWN_MEMORY_REASON =
  'the broker refuses a work request naming local memory outside the caller\'s own MRs before any device sees it ' +
  '(src/core/memory-check.ts: INVALID_ARGUMENT, errno EINVAL, the WR\'s index), a safety rule the kernel cannot apply ' +
  '(one daemon holds every tenant\'s MRs); rxe posts the WR and completes it with an error instead. Nothing is posted, ' +
  'so no completion follows and both QPs stay in RTS';

function build(cases: Case[], name: string, area: Area, f: (b: CaseBuilder) => void): void {
  const b = new CaseBuilder();
  f(b);
  b.s('ev', { ms: DEFAULT_WAIT_MS });
  cases.push({
    name, area, steps: b.steps,
    ...(b.undefinedFields.length ? { undefinedFields: b.undefinedFields } : {}),
    ...(b.broker ? { broker: b.broker } : {}),
  });
}

// ------------------------------------------------------------------ areas

function errorCases(c: Case[]): void {
  const rops = ['RDMA_WRITE', 'RDMA_WRITE_WITH_IMM', 'RDMA_READ'] as const;
  const lens = [0, 1, 64, 4096];
  // a bad rkey, per opcode and length
  for (const op of rops) for (const len of lens) {
    build(c, `bad-rkey/${op}/len${len}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, rmr: 'rb', roff: 0, rkey: 'bad', imm: 0x1234, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.s('mem', { mr: 'la', off: 0, len: 8 });
    });
  }
  // a remote address outside the MR: offsets around the end and before the start
  for (const op of rops) for (const [roff, len] of [[4096 - 64, 64], [4096 - 63, 64], [4096, 1], [4096, 0], [-8, 16], [8192, 8], [4032, 128]] as const) {
    build(c, `remote-range/${op}/off${roff}/len${len}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, rmr: 'rb', roff, rkey: 'rb', imm: 7, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: 4032, len: 64 });
    });
  }
  // remote access rights of the target MR against each opcode
  const rights: [string, number][] = [['LW', A.LW], ['LW|RR', A.LW | A.RR], ['LW|RW', A.LW | A.RW], ['LW|RA', A.LW | A.RA], ['LW|RW|RR', A.LW | A.RW | A.RR]];
  const ops = ['RDMA_WRITE', 'RDMA_WRITE_WITH_IMM', 'RDMA_READ', 'ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD'] as const;
  for (const [rn, racc] of rights) for (const op of ops) {
    build(c, `access/${rn}/${op}`, 'error', (b) => {
      b.pair({ racc });
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      const atomic = op.startsWith('ATOMIC');
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: atomic ? 8 : 32, rmr: 'rb', roff: 64, rkey: 'rb', imm: 9, cmp: 0, swap: 5, add: 3, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: 64, len: 8 });
    });
  }
  // a bad local lkey, on the requester (send side) and on the responder (recv side)
  for (const op of ['SEND', 'SEND_WITH_IMM', 'RDMA_WRITE', 'RDMA_READ', 'RDMA_WRITE_WITH_IMM'] as const) for (const len of [1, 64]) {
    build(c, `bad-lkey/send/${op}/len${len}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      const post = b.next;
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, lkey: 'bad', rmr: 'rb', roff: 0, rkey: 'rb', imm: 1, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.brokerAnswers(OWN_MEMORY_REASON, {
        [`r[${post}].err`]: 22, [`r[${post}].bad`]: 0, [`r[${post + 1}].wc`]: [], [`r[${post + 2}].wc`]: [], [`r[${post + 3}].st`]: 'RTS', [`r[${post + 4}].st`]: 'RTS',
      });
    });
  }
  for (const op of ['SEND', 'SEND_WITH_IMM', 'RDMA_WRITE_WITH_IMM'] as const) for (const len of [0, 16]) {
    build(c, `bad-lkey/recv/${op}/len${len}`, 'error', (b) => {
      b.pair();
      const post = b.next;
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, lkey: 'bad', id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, rmr: 'rb', roff: 0, rkey: 'rb', imm: 2, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      // Without the receive, the SEND (or WRITE_WITH_IMM) meets RNR and is retried (rnr_retry 7) past the case's end.
      b.brokerAnswers(`${OWN_MEMORY_REASON} (the sender's WR finds no receive and is retried, RNR, past the case's end)`, {
        [`r[${post}].err`]: 22, [`r[${post}].bad`]: 0, [`r[${post + 2}].wc`]: [], [`r[${post + 3}].wc`]: [], [`r[${post + 4}].st`]: 'RTS', [`r[${post + 5}].st`]: 'RTS',
      });
    });
  }
  // a SEND larger than the posted receive
  for (const [send, recv] of [[65, 64], [128, 64], [4096, 1024], [2, 1], [1, 0], [64, 64], [0, 0], [1500, 1024]] as const) for (const op of ['SEND', 'SEND_WITH_IMM'] as const) {
    build(c, `recv-too-small/${op}/send${send}/recv${recv}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: recv, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: send, imm: 0xabcdef01, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: 0, len: 8 });
    });
  }
  // zero-length WRITE: fine with a good rkey, and with a bad one
  for (const rkey of ['rb', 'bad'] as const) for (const op of ['RDMA_WRITE', 'RDMA_WRITE_WITH_IMM'] as const) {
    build(c, `zero-length/${op}/rkey-${rkey}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 16, id: 100 });
      b.s('send', { qp: 'a', op, nsge: 0, rmr: 'rb', roff: 0, rkey, imm: 77, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
    });
  }
  // immediate data: delivered with and without a payload, and a WRITE_WITH_IMM / SEND_WITH_IMM with no receive (rnr 0)
  for (const imm of [0, 1, 0x80000000, 0xffffffff]) for (const op of ['SEND_WITH_IMM', 'RDMA_WRITE_WITH_IMM'] as const) {
    build(c, `imm/${op}/imm${imm.toString(16)}`, 'error', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 16, rmr: 'rb', roff: 512, rkey: 'rb', imm, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: op === 'SEND_WITH_IMM' ? 0 : 512, len: 16 });
    });
  }
  // an unsignaled WR that fails still completes
  for (const op of ['RDMA_WRITE', 'RDMA_READ'] as const) {
    build(c, `unsignaled-error/${op}`, 'error', (b) => {
      b.pair();
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'bad', flags: 0, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
    });
  }
}

function flushCases(c: Case[]): void {
  // the first error, then k more WRs already posted behind it; receives on both sides
  for (const first of ['RDMA_WRITE', 'RDMA_READ', 'SEND'] as const) for (const k of [1, 2, 3, 5]) for (const signaled of [F.SIG, 0]) {
    build(c, `after-error/${first}/then${k}/${signaled ? 'sig' : 'unsig'}`, 'flush', (b) => {
      b.pair();
      b.s('recv', { qp: 'a', mr: 'la', off: 1024, len: 64, id: 200, count: 2 });
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: first === 'SEND' ? 1 : 64, id: 100, count: 2 });
      b.s('send', { qp: 'a', op: first, mr: 'la', off: 0, len: 16, rmr: 'rb', roff: 0, rkey: first === 'SEND' ? 'rb' : 'bad', flags: F.SIG, id: 1 });
      b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'rb', flags: signaled, id: 10, count: k });
      b.s('poll', { cq: 'ca', n: 3 + k }).s('poll', { cq: 'cb', n: 2 }).states('a', 'b');
    });
  }
  // posting to a QP already in ERR: completes with a flush at once
  for (const what of ['send', 'recv'] as const) for (const count of [1, 3]) {
    build(c, `post-in-err/${what}/x${count}`, 'flush', (b) => {
      b.pair();
      b.s('mod', { qp: 'a', st: 'ERR' });
      b.s('poll', { cq: 'ca', n: 0, ms: 10 });
      if (what === 'send') b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 8, flags: F.SIG, id: 1, count });
      else b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 8, id: 1, count });
      b.s('poll', { cq: 'ca', n: count }).states('a', 'b');
    });
  }
  // modify to ERR with work queued: both queues flush, in order
  for (const nr of [0, 1, 4]) for (const ns of [0, 2]) {
    build(c, `modify-err/recv${nr}/send${ns}`, 'flush', (b) => {
      b.pair({ conn: { rnr: 7 } });
      if (nr) b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 8, id: 100, count: nr });
      b.s('mod', { qp: 'b', st: 'ERR' });
      if (ns) b.s('send', { qp: 'b', op: 'RDMA_WRITE', mr: 'rb', off: 0, len: 8, rmr: 'la', roff: 0, rkey: 'la', flags: F.SIG, id: 10, count: ns });
      b.s('mod', { qp: 'a', st: 'ERR' });
      b.s('poll', { cq: 'ca', n: nr }).s('poll', { cq: 'cb', n: ns }).states('a', 'b');
    });
  }
  // after flushing, back to RESET and up again works
  build(c, 'reset-after-err/reconnect', 'flush', (b) => {
    b.pair();
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'bad', flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 });
    b.s('mod', { qp: 'a', st: 'RESET' }).s('mod', { qp: 'b', st: 'RESET' });
    b.s('conn', { a: 'a', b: 'b' });
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'rb', flags: F.SIG, id: 2 });
    b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b').s('mem', { mr: 'rb', off: 0, len: 8 });
  });
}

function rnrCases(c: Case[]): void {
  for (const op of ['SEND', 'SEND_WITH_IMM', 'RDMA_WRITE_WITH_IMM'] as const) for (const len of [0, 8, 2048]) for (const then of [0, 2]) {
    build(c, `rnr0/${op}/len${len}/then${then}`, 'rnr', (b) => {
      b.pair({ conn: { rnr: 0 } });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, rmr: 'rb', roff: 0, rkey: 'rb', imm: 3, flags: F.SIG, id: 1 });
      if (then) b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'rb', flags: F.SIG, id: 2, count: then });
      b.s('poll', { cq: 'ca', n: 1 + then, ms: 2000 }).s('poll', { cq: 'cb', n: 0, ms: 20 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: 0, len: 8 });
    });
  }
  // a receive posted late is too late with rnr 0; one posted before succeeds
  for (const min of [1, 12, 31]) {
    build(c, `rnr0/recv-first/min${min}`, 'rnr', (b) => {
      b.pair({ conn: { rnr: 0, min_rnr: min } });
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 32, flags: F.SIG, id: 1, count: 2 });
      b.s('poll', { cq: 'ca', n: 2, ms: 2000 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b');
    });
  }
}

function atomicCases(c: Case[]): void {
  const initial = 0x1111222233334444n;
  for (const off of [0, 8, 64, 4088]) for (const equal of [true, false]) {
    build(c, `cas/off${off}/${equal ? 'equal' : 'differ'}`, 'atomic', (b) => {
      b.pair();
      b.s('set', { mr: 'rb', off, u64: `0x${initial.toString(16)}` });
      b.s('send', { qp: 'a', op: 'ATOMIC_CMP_AND_SWP', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: off, rkey: 'rb',
        cmp: equal ? `0x${initial.toString(16)}` : '0x1', swap: '0xaaaabbbbccccdddd', flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('mem', { mr: 'la', off: 0, len: 8 }).s('mem', { mr: 'rb', off, len: 8 }).states('a');
    });
  }
  for (const off of [0, 16, 4088]) for (const add of ['0x1', '0xffffffffffffffff', '0x8000000000000000']) {
    build(c, `faa/off${off}/add${add}`, 'atomic', (b) => {
      b.pair();
      b.s('set', { mr: 'rb', off, u64: `0x${initial.toString(16)}` });
      b.s('send', { qp: 'a', op: 'ATOMIC_FETCH_AND_ADD', mr: 'la', off: 8, len: 8, rmr: 'rb', roff: off, rkey: 'rb', add, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('mem', { mr: 'la', off: 8, len: 8 }).s('mem', { mr: 'rb', off, len: 8 }).states('a');
    });
  }
  // misaligned remote addresses
  for (const op of ['ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD'] as const) for (const off of [1, 2, 4, 7, 12, 4092]) {
    build(c, `misaligned/${op}/off${off}`, 'atomic', (b) => {
      b.pair();
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 8, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'rb', roff: off, rkey: 'rb', cmp: 0, swap: 1, add: 1, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1 }).states('a', 'b').s('mem', { mr: 'rb', off: 0, len: 16 });
    });
  }
  // local length other than 8, out of range, bad rkey
  for (const op of ['ATOMIC_CMP_AND_SWP', 'ATOMIC_FETCH_AND_ADD'] as const) for (const [what, len, roff, rkey] of [['len4', 4, 0, 'rb'], ['len16', 16, 0, 'rb'], ['end', 8, 4096, 'rb'], ['badrkey', 8, 0, 'bad']] as const) {
    build(c, `atomic-${what}/${op}`, 'atomic', (b) => {
      b.pair();
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, rmr: 'rb', roff, rkey, cmp: 0, swap: 1, add: 1, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b').s('mem', { mr: 'la', off: 0, len: 8 });
    });
  }
  // a chain of atomics on one word
  for (const n of [2, 4]) {
    build(c, `faa-chain/x${n}`, 'atomic', (b) => {
      b.pair();
      b.s('send', { qp: 'a', op: 'ATOMIC_FETCH_AND_ADD', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 8, rkey: 'rb', add: 5, flags: F.SIG, id: 1, count: n });
      b.s('poll', { cq: 'ca', n }).s('mem', { mr: 'rb', off: 8, len: 8 }).s('mem', { mr: 'la', off: 0, len: 8 });
    });
  }
}

function postCases(c: Case[]): void {
  const qp = (b: CaseBuilder, type: 'RC' | 'UD' = 'RC', caps: Partial<Record<'sw' | 'rw' | 'ssge' | 'rsge' | 'inl', number>> = {}): void => {
    b.s('cq', { n: 'ca', cqe: 64 }).s('mr', { n: 'la', len: 4096, acc: ALL, fill: 3 });
    b.s('qp', { n: 'a', type, scq: 'ca', rcq: 'ca', sw: 8, rw: 8, ssge: 2, rsge: 2, inl: 0, ...caps });
  };
  // posting in RESET, INIT, RTR
  for (const st of ['RESET', 'INIT', 'RTR'] as const) for (const type of ['RC', 'UD'] as const) for (const what of ['send', 'recv'] as const) {
    build(c, `in-${st}/${type}/${what}`, 'post', (b) => {
      qp(b, type);
      if (type === 'UD') b.s('ah', { n: 'h' });
      if (st !== 'RESET') b.s('mod', { qp: 'a', st: 'INIT', std: 1 });
      if (st === 'RTR') b.s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' });
      if (what === 'send') b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 8, flags: F.SIG, id: 1, ah: type === 'UD' ? 'h' : undefined, rqp: type === 'UD' ? 'a' : undefined, qkey: type === 'UD' ? 0x11111111 : undefined });
      else b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 64, id: 1 });
      b.s('poll', { cq: 'ca', n: 0, ms: 20 }).states('a');
    });
  }
  // empty lists
  for (const what of ['send', 'recv'] as const) for (const st of ['RESET', 'RTS'] as const) {
    build(c, `empty/${what}/${st}`, 'post', (b) => {
      qp(b);
      if (st === 'RTS') b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      if (what === 'send') b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 8, count: 0, id: 1 });
      else b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 8, count: 0, id: 1 });
      b.s('poll', { cq: 'ca', n: 0, ms: 10 }).states('a');
    });
  }
  // more WRs than the queue holds (in one list, and in two posts)
  for (const what of ['send', 'recv'] as const) for (const [cap, count] of [[4, 5], [4, 8], [8, 9], [8, 16], [16, 17], [16, 64], [1, 2], [8, 8]] as const) {
    build(c, `overfill/${what}/cap${cap}/n${count}`, 'post', (b) => {
      b.s('cq', { n: 'ca', cqe: 256 }).s('mr', { n: 'la', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'ca', sw: cap, rw: cap, ssge: 1, rsge: 1, inl: 0 });
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 });
      if (what === 'send') b.s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      b.s('qcap', { qp: 'a' });
      if (what === 'send') b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'la', roff: 64, rkey: 'la', flags: 0, id: 1, count });
      else b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 8, id: 1, count });
      b.s('mod', { qp: 'a', st: 'ERR' });
      b.s('poll', { cq: 'ca', n: what === 'recv' ? count : 1, ms: 50 });
    });
  }
  // num_sge above the QP's
  for (const what of ['send', 'recv'] as const) for (const [cap, n] of [[1, 2], [2, 3], [2, 2], [4, 5], [1, 0]] as const) {
    build(c, `num-sge/${what}/cap${cap}/n${n}`, 'post', (b) => {
      qp(b, 'RC', { ssge: cap, rsge: cap });
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      if (what === 'send') b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, nsge: n, rmr: 'la', roff: 1024, rkey: 'la', flags: F.SIG, id: 1 });
      else b.s('recv', { qp: 'a', mr: 'la', off: 0, len: 8, nsge: n, id: 1 });
      b.s('mod', { qp: 'a', st: 'ERR' });
      b.s('poll', { cq: 'ca', n: 1, ms: 50 }).states('a');
    });
  }
  // inline above max_inline_data (the device may round the cap up: qcap records it)
  for (const [cap, len] of [[0, 1], [16, 16], [16, 17], [64, 64], [64, 65], [64, 256], [128, 512], [0, 0]] as const) {
    build(c, `inline/cap${cap}/len${len}`, 'post', (b) => {
      qp(b, 'RC', { inl: cap });
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len, rmr: 'la', roff: 2048, rkey: 'la', flags: F.SIG | F.INL, id: 1 });
      b.s('poll', { cq: 'ca', n: 1, ms: 50 }).states('a').s('mem', { mr: 'la', off: 2048, len: 16 });
    });
  }
  // opcodes a QP type does not carry
  for (const [type, op] of [['UD', 'RDMA_WRITE'], ['UD', 'RDMA_READ'], ['UD', 'ATOMIC_FETCH_AND_ADD'], ['UC', 'RDMA_READ'], ['UC', 'ATOMIC_CMP_AND_SWP']] as const) {
    build(c, `opcode/${type}/${op}`, 'post', (b) => {
      b.s('cq', { n: 'ca', cqe: 64 }).s('mr', { n: 'la', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type, scq: 'ca', rcq: 'ca', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      if (type === 'UD') b.s('ah', { n: 'h' });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'la', roff: 64, rkey: 'la', flags: F.SIG, id: 1, ah: type === 'UD' ? 'h' : undefined, rqp: type === 'UD' ? 'a' : undefined, qkey: type === 'UD' ? 0x11111111 : undefined });
      b.s('poll', { cq: 'ca', n: 1, ms: 50 }).states('a');
    });
  }
}

function cqCases(c: Case[]): void {
  // overflow: more completions than the CQ holds (the device may round cqe up: cqcap records it)
  for (const [cqe, n] of [[1, 2], [2, 4], [4, 5], [4, 8], [8, 9], [8, 16], [16, 17], [16, 32], [4, 4], [8, 8]] as const) {
    build(c, `overflow/cqe${cqe}/n${n}`, 'cq', (b) => {
      b.s('cq', { n: 'ca', cqe }).s('cq', { n: 'cb', cqe: 64 }).s('mr', { n: 'la', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'cb', sw: 64, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('qp', { n: 'b', type: 'RC', scq: 'cb', rcq: 'cb', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('conn', { a: 'a', b: 'b' });
      b.s('cqcap', { cq: 'ca' });
      b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'la', roff: 64, rkey: 'la', flags: F.SIG, id: 1, count: n });
      b.s('ev', { n: 1, ms: 300 });
      b.s('poll', { cq: 'ca', n, ms: 300 }).states('a', 'b');
    });
  }
  // overflow on the responder side: the receive completion that does not fit moves the receiving QP to ERR
  // (rxe_resp.c do_complete -> RESPST_ERR_CQ_OVERFLOW -> rxe_qp_error), with CQ_ERR on the CQ and no QP event;
  // its later receives and sends are flushed. RC: the message is never ACKed, so the requester retries and ends
  // in RETRY_EXC_ERR. Exactly one completion is dropped (two receives into one slot), so CQ_ERR comes once.
  for (const [type, op] of [['UC', 'SEND'], ['UC', 'RDMA_WRITE_WITH_IMM'], ['RC', 'SEND'], ['RC', 'RDMA_WRITE_WITH_IMM']] as const) {
    build(c, `overflow/recv/${type}/${op}`, 'cq', (b) => {
      b.s('cq', { n: 'ca', cqe: 32 }).s('cq', { n: 'cb', cqe: 1 }).s('cq', { n: 'cs', cqe: 32 });
      b.s('mr', { n: 'la', len: 4096, acc: ALL, fill: 1 }).s('mr', { n: 'rb', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type, scq: 'ca', rcq: 'ca', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('qp', { n: 'b', type, scq: 'cs', rcq: 'cb', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('conn', { a: 'a', b: 'b', ...(type === 'RC' ? { timeout: 12, retry: 1 } : {}) });
      b.s('cqcap', { cq: 'cb' });
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100, count: 2 });
      const write = op === 'RDMA_WRITE_WITH_IMM' ? { rmr: 'rb', roff: 128, rkey: 'rb', imm: 0x1234 } : {};
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, ...write, flags: F.SIG, id: 1, count: 2 });
      b.s('poll', { cq: 'ca', n: 2, ms: 3000 });
      b.s('ev', { ms: 300 });
      b.states('a', 'b');
      b.s('poll', { cq: 'cb', n: 1 });
      // Later work on the QP in ERR is flushed.
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 200 });
      b.s('poll', { cq: 'cb', n: 1, ms: 300 });
      b.s('send', { qp: 'b', op: 'SEND', mr: 'rb', off: 0, len: 8, flags: F.SIG, id: 300 });
      b.s('poll', { cq: 'cs', n: 1, ms: 300 });
      b.s('mem', { mr: 'rb', off: 0, len: 8 });
    });
  }
  // resize: below the entries queued, to them, above them
  for (const [queued, to] of [[4, 2], [4, 4], [4, 8], [8, 1], [0, 1], [2, 16]] as const) {
    build(c, `resize/queued${queued}/to${to}`, 'cq', (b) => {
      b.pair({ cqe: 16 });
      if (queued) b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'rb', flags: F.SIG, id: 1, count: queued });
      b.s('poll', { cq: 'cb', n: 0, ms: queued ? 50 : 0 });
      b.s('resize', { cq: 'ca', cqe: to });
      b.s('poll', { cq: 'ca', n: queued });
    });
  }
  for (const cqe of [0, -1, 1 << 30]) {
    build(c, `create/cqe${cqe}`, 'cq', (b) => {
      b.s('cq', { n: 'ca', cqe });
    });
  }
  // notify: one event per arm
  for (const [arms, completions] of [[1, 1], [1, 3], [0, 1], [2, 2]] as const) {
    build(c, `notify/arm${arms}/wc${completions}`, 'cq', (b) => {
      b.s('cq', { n: 'ca', cqe: 32, chan: 1 }).s('cq', { n: 'cb', cqe: 32 }).s('mr', { n: 'la', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'ca', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
      b.s('qp', { n: 'b', type: 'RC', scq: 'cb', rcq: 'cb', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
      b.s('conn', { a: 'a', b: 'b' });
      for (let i = 0; i < Math.max(arms, 1); i++) {
        if (i < arms) b.s('arm', { cq: 'ca' });
        for (let k = 0; k < completions; k++) {
          b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'la', roff: 64, rkey: 'la', flags: F.SIG, id: 10 * i + k });
          b.s('poll', { cq: 'ca', n: 1 });
        }
        b.s('notif', { cq: 'ca', ms: NOTIFY_WAIT_MS });
      }
    });
  }
  // solicited-only arming: which receives fire it
  for (const sol of [0, 1]) for (const op of ['SEND', 'SEND_WITH_IMM', 'RDMA_WRITE_WITH_IMM', 'RDMA_WRITE'] as const) for (const flag of [0, F.SOL]) {
    if (op === 'RDMA_WRITE' && flag) continue;
    build(c, `solicited/arm-sol${sol}/${op}/${flag ? 'solicited' : 'plain'}`, 'cq', (b) => {
      b.s('cq', { n: 'ca', cqe: 32 }).s('cq', { n: 'cb', cqe: 32, chan: 1 }).s('mr', { n: 'la', len: 4096, acc: ALL }).s('mr', { n: 'rb', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'ca', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
      b.s('qp', { n: 'b', type: 'RC', scq: 'cb', rcq: 'cb', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
      b.s('conn', { a: 'a', b: 'b' });
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 64, id: 100 });
      b.s('arm', { cq: 'cb', sol });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 128, rkey: 'rb', imm: 5, flags: F.SIG | flag, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 });
      b.s('notif', { cq: 'cb', ms: NOTIFY_WAIT_MS });
      b.s('poll', { cq: 'cb', n: op === 'RDMA_WRITE' ? 0 : 1, ms: 20 });
    });
  }
  // an error completion fires a solicited-only arm
  build(c, 'solicited/error-completion', 'cq', (b) => {
    b.s('cq', { n: 'ca', cqe: 32, chan: 1 }).s('cq', { n: 'cb', cqe: 32 }).s('mr', { n: 'la', len: 4096, acc: ALL });
    b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'ca', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
    b.s('qp', { n: 'b', type: 'RC', scq: 'cb', rcq: 'cb', sw: 16, rw: 16, ssge: 1, rsge: 1, inl: 0 });
    b.s('conn', { a: 'a', b: 'b' });
    b.s('arm', { cq: 'ca', sol: 1 });
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'la', roff: 0, rkey: 'bad', flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).s('notif', { cq: 'ca', ms: NOTIFY_WAIT_MS });
  });
}

function udCases(c: Case[]): void {
  const ud = (b: CaseBuilder, o: { qkeyB?: number; rsge?: number } = {}): void => {
    b.s('cq', { n: 'ca', cqe: 32 }).s('cq', { n: 'cb', cqe: 32 });
    b.s('mr', { n: 'la', len: 8192, acc: A.LW, fill: 4 }).s('mr', { n: 'rb', len: 8192, acc: A.LW });
    b.s('qp', { n: 'a', type: 'UD', scq: 'ca', rcq: 'ca', sw: 16, rw: 16, ssge: 2, rsge: 2, inl: 0 });
    b.s('qp', { n: 'b', type: 'UD', scq: 'cb', rcq: 'cb', sw: 16, rw: 16, ssge: 2, rsge: o.rsge ?? 2, inl: 0 });
    for (const q of ['a', 'b']) {
      b.s('mod', { qp: q, st: 'INIT', std: 1, qkey: q === 'b' ? o.qkeyB ?? 0x11111111 : 0x11111111 });
      b.s('mod', { qp: q, st: 'RTR', std: 1 }).s('mod', { qp: q, st: 'RTS', std: 1 });
    }
    b.s('ah', { n: 'h' });
  };
  // qkeys: matching, wrong, and the high bit (a privileged qkey: the QP's own is used)
  for (const [name, wrKey, qpKey] of [['match', 0x11111111, 0x11111111], ['wrong', 0x22222222, 0x11111111], ['zero', 0, 0x11111111], ['off-by-one', 0x11111112, 0x11111111], ['qp-zero', 0, 0]] as const) {
    for (const len of [8, 256]) {
      build(c, `qkey/${name}/len${len}`, 'ud', (b) => {
        ud(b, { qkeyB: qpKey });
        b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 2048, id: 100 });
        b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len, ah: 'h', rqp: 'b', qkey: wrKey, flags: F.SIG, id: 1 });
        b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1, ms: 200 }).states('a', 'b');
      });
    }
  }
  // the 40 GRH bytes at the head of a receive; payload after them; a receive too small for GRH + payload
  for (const [len, recv] of [[0, 40], [1, 41], [64, 104], [64, 100], [64, 40], [256, 2048], [100, 140]] as const) for (const op of ['SEND', 'SEND_WITH_IMM'] as const) {
    build(c, `grh/${op}/len${len}/recv${recv}`, 'ud', (b) => {
      ud(b);
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: recv, id: 100 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len, ah: 'h', rqp: 'b', qkey: 0x11111111, imm: 0x55, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1, ms: 200 }).states('a', 'b');
      b.s('mem', { mr: 'rb', off: 40, len: Math.min(16, len) });
    });
  }
  // payload around the path MTU (rxe0 on dummy0: active MTU 1024 is taken from the port, queried by the runner)
  for (const len of [1023, 1024, 1025, 2048, 4096]) {
    build(c, `mtu/len${len}`, 'ud', (b) => {
      ud(b);
      b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 8192, id: 100 });
      b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len, ah: 'h', rqp: 'b', qkey: 0x11111111, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1, ms: 200 }).states('a', 'b');
    });
  }
  // no receive posted: the datagram is dropped, the sender still completes
  build(c, 'no-recv', 'ud', (b) => {
    ud(b);
    b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, ah: 'h', rqp: 'b', qkey: 0x11111111, flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).s('recv', { qp: 'b', mr: 'rb', off: 0, len: 2048, id: 100 }).s('poll', { cq: 'cb', n: 0, ms: 50 }).states('a', 'b');
  });
  // two SGEs on the receive: GRH into the first
  build(c, 'grh/two-sge', 'ud', (b) => {
    ud(b);
    b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 40, nsge: 2, id: 100 });
    b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 40, ah: 'h', rqp: 'b', qkey: 0x11111111, flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 1, ms: 200 }).s('mem', { mr: 'rb', off: 40, len: 16 });
  });
}

function modifyCases(c: Case[]): void {
  const one = (b: CaseBuilder, type: 'RC' | 'UD' | 'UC' = 'RC'): void => {
    b.s('cq', { n: 'ca', cqe: 16 });
    b.s('qp', { n: 'a', type, scq: 'ca', rcq: 'ca', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
  };
  // path_mtu 0..7 (the port's active MTU on rxe0 is 1024 = 3)
  for (const mtu of [0, 1, 2, 3, 4, 5, 6, 7]) for (const type of ['RC', 'UC'] as const) {
    build(c, `path-mtu/${type}/mtu${mtu}`, 'modify', (b) => {
      one(b, type);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 });
      const mod = b.next;
      b.s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a', mtu }).states('a');
      if (mtu === 0) {
        b.brokerAnswers('the wire\'s path_mtu is an ibv_mtu name (MTU_256 .. MTU_4096, src/core/types/common.ts); 0 is no ibv_mtu value and the ' +
          'broker refuses it (INVALID_ARGUMENT, errno EINVAL), where rxe lets it through (rxe_qp_chk_attr only compares it with the port\'s max MTU)', {
          [`r[${mod}].err`]: 22, [`r[${mod + 1}].st`]: 'INIT',
        });
      }
    });
  }
  // rd_atomic values
  for (const v of [0, 1, 2, 16, 17, 128, 255, 256]) {
    build(c, `max-dest-rd-atomic/${v}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a', dest_rd_atomic: v }).states('a');
    });
    build(c, `max-rd-atomic/${v}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1, rd_atomic: v }).states('a');
    });
  }
  // pkey_index and port_num at INIT
  for (const pkey of [0, 1, 63, 64, 65535]) for (const type of ['RC', 'UD'] as const) {
    build(c, `pkey-index/${type}/${pkey}`, 'modify', (b) => {
      one(b, type);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1, pkey }).states('a');
    });
  }
  for (const port of [0, 1, 2, 255]) for (const type of ['RC', 'UD'] as const) {
    build(c, `port-num/${type}/${port}`, 'modify', (b) => {
      one(b, type);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1, port }).states('a');
    });
  }
  // sgid_index of the address vector
  for (const sgid of [0, 1, 2, 15, 16, 255]) {
    build(c, `sgid-index/${sgid}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a', sgid }).states('a');
    });
  }
  // cur_qp_state that is, and is not, the QP's state
  const path: ['INIT' | 'RTR' | 'RTS'][] = [['INIT'], ['RTR'], ['RTS']];
  for (const [i, [to]] of path.entries()) for (const cur of ['RESET', 'INIT', 'RTR', 'RTS', 'SQD', 'ERR'] as const) {
    build(c, `cur-state/to-${to}/cur-${cur}`, 'modify', (b) => {
      one(b);
      for (const [t] of path.slice(0, i)) b.s('mod', { qp: 'a', st: t, std: 1, peer: t === 'RTR' ? 'a' : undefined });
      b.s('mod', { qp: 'a', st: to, std: 1, peer: to === 'RTR' ? 'a' : undefined, cur });
      b.states('a');
    });
  }
  // cur_qp_state to ERR / RESET from RTS
  for (const cur of ['RTS', 'INIT', 'SQE']) {
    build(c, `cur-state/rts-to-ERR/cur-${cur}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1 });
      b.s('mod', { qp: 'a', st: 'ERR', cur }).states('a');
    });
  }
  // dest_qp_num of a QP that does not exist, then a SEND / WRITE
  for (const op of ['SEND', 'RDMA_WRITE', 'RDMA_READ']) {
    build(c, `missing-dest/${op}`, 'modify', (b) => {
      b.s('cq', { n: 'ca', cqe: 16 }).s('mr', { n: 'la', len: 4096, acc: ALL });
      b.s('qp', { n: 'a', type: 'RC', scq: 'ca', rcq: 'ca', sw: 8, rw: 8, ssge: 1, rsge: 1, inl: 0 });
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, dest: 0xfffff0 });
      b.s('mod', { qp: 'a', st: 'RTS', std: 1, timeout: 8, retry: 1 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'la', roff: 64, rkey: 'la', flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1, ms: 5000 }).states('a');
    });
  }
  // timeout, retry_cnt, rnr_retry and min_rnr_timer values
  for (const timeout of [0, 1, 14, 31, 32]) {
    build(c, `timeout/${timeout}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1, timeout }).states('a');
    });
  }
  for (const min of [0, 1, 31, 32]) {
    build(c, `min-rnr-timer/${min}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a', min_rnr: min }).states('a');
    });
  }
  for (const retry of [0, 7, 8]) for (const field of ['retry', 'rnr'] as const) {
    build(c, `${field}/${retry}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1 }).s('mod', { qp: 'a', st: 'RTR', std: 1, peer: 'a' }).s('mod', { qp: 'a', st: 'RTS', std: 1, [field]: retry }).states('a');
    });
  }
  // the qkey's high bit on UD, access flags on RC INIT
  for (const acc of [0, A.RW, A.RR, A.RA, ALL, 0x80]) {
    build(c, `access-flags/${acc}`, 'modify', (b) => {
      one(b);
      b.s('mod', { qp: 'a', st: 'INIT', std: 1, access: acc }).states('a');
    });
  }
}

function srqCases(c: Case[]): void {
  const withSrq = (b: CaseBuilder, wr: number, limit = 0): void => {
    b.s('srq', { n: 's', wr, sge: 1, limit });
    b.pair({ srq: 's' });
  };
  // arming: srq_limit L, then receives consumed until fewer than L remain
  for (const [wr, posted, limit, consumed] of [[16, 8, 4, 4], [16, 8, 4, 5], [16, 8, 4, 3], [16, 4, 2, 3], [16, 2, 1, 2], [16, 8, 8, 1], [16, 8, 9, 0], [16, 4, 0, 4]] as const) {
    build(c, `limit/wr${wr}/posted${posted}/limit${limit}/consumed${consumed}`, 'srq', (b) => {
      withSrq(b, wr);
      b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 64, id: 100, count: posted });
      b.s('msrq', { srq: 's', limit });
      if (consumed) b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, flags: F.SIG, id: 1, count: consumed });
      b.s('poll', { cq: 'ca', n: consumed }).s('poll', { cq: 'cb', n: consumed });
      b.s('ev', { n: 1, ms: 100 }).s('qsrq', { srq: 's' });
    });
  }
  // the limit fires once: re-arm needed
  build(c, 'limit/once', 'srq', (b) => {
    withSrq(b, 16);
    b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 64, id: 100, count: 4 });
    b.s('msrq', { srq: 's', limit: 3 });
    b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, flags: F.SIG, id: 1, count: 3 });
    b.s('poll', { cq: 'ca', n: 3 }).s('poll', { cq: 'cb', n: 3 }).s('ev', { n: 1, ms: 100 }).s('qsrq', { srq: 's' });
    b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 64, id: 200, count: 4 });
    b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, flags: F.SIG, id: 10, count: 4 });
    b.s('poll', { cq: 'ca', n: 4 }).s('poll', { cq: 'cb', n: 4 });
  });
  // create with a limit, modify limit above max_wr, max_wr resize
  for (const [wr, limit] of [[16, 0], [16, 4], [16, 16], [16, 17]] as const) {
    build(c, `create-limit/wr${wr}/limit${limit}`, 'srq', (b) => {
      b.s('srq', { n: 's', wr, sge: 1, limit }).s('qsrq', { srq: 's' });
    });
    build(c, `modify-limit/wr${wr}/limit${limit}`, 'srq', (b) => {
      b.s('srq', { n: 's', wr, sge: 1 }).s('msrq', { srq: 's', limit }).s('qsrq', { srq: 's' });
    });
  }
  for (const maxwr of [8, 32, 0]) {
    build(c, `modify-max-wr/${maxwr}`, 'srq', (b) => {
      b.s('srq', { n: 's', wr: 16, sge: 1 }).s('msrq', { srq: 's', maxwr });
    });
  }
  // posting beyond max_wr (the device may round max_wr up: the first post is sized from srqcap)
  for (const [wr, count] of [[4, 5], [4, 16], [8, 8], [8, 9], [16, 32], [1, 2]] as const) {
    build(c, `overfill/wr${wr}/n${count}`, 'srq', (b) => {
      b.s('mr', { n: 'rb', len: 4096, acc: A.LW });
      b.s('srq', { n: 's', wr, sge: 1 }).s('srqcap', { srq: 's' });
      b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 16, id: 1, count });
    });
  }
  // num_sge above the SRQ's
  for (const n of [1, 2, 3]) {
    build(c, `num-sge/n${n}`, 'srq', (b) => {
      b.s('mr', { n: 'rb', len: 4096, acc: A.LW });
      b.s('srq', { n: 's', wr: 8, sge: 2 }).s('srecv', { srq: 's', mr: 'rb', off: 0, len: 16, nsge: n, id: 1 });
    });
  }
  // a receive from the SRQ that is too small, and a QP on an SRQ moved to ERR (LAST_WQE_REACHED)
  build(c, 'recv-too-small', 'srq', (b) => {
    withSrq(b, 8);
    b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 8, id: 100, count: 2 });
    b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).s('poll', { cq: 'cb', n: 2 }).states('a', 'b');
  });
  for (const posted of [0, 2]) {
    build(c, `qp-err/posted${posted}`, 'srq', (b) => {
      withSrq(b, 8);
      if (posted) b.s('srecv', { srq: 's', mr: 'rb', off: 0, len: 64, id: 100, count: posted });
      b.s('mod', { qp: 'b', st: 'ERR' });
      b.s('ev', { n: 1, ms: 100 });
      b.s('poll', { cq: 'cb', n: 0, ms: 20 });
      b.s('send', { qp: 'a', op: 'SEND', mr: 'la', off: 0, len: 16, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1, ms: 3000 }).states('a', 'b');
    });
  }
  // receive on a QP attached to an SRQ
  build(c, 'qp-recv-with-srq', 'srq', (b) => {
    withSrq(b, 8);
    b.s('recv', { qp: 'b', mr: 'rb', off: 0, len: 16, id: 1 });
    b.states('b');
  });
}

function mwCases(c: Case[]): void {
  const mwPair = (b: CaseBuilder, racc: number): void => {
    b.pair({ racc });
  };
  // type 2: bind through the SQ, use, invalidate
  for (const [acc, op] of [[A.RW, 'RDMA_WRITE'], [A.RR, 'RDMA_READ'], [A.RW, 'RDMA_READ'], [A.RR, 'RDMA_WRITE'], [A.RW | A.RR, 'RDMA_WRITE'], [A.RA, 'ATOMIC_FETCH_AND_ADD']] as const) {
    build(c, `type2/acc${acc}/${op}`, 'mw', (b) => {
      mwPair(b, ALL | A.BIND);
      b.s('mw', { n: 'w', type: 2 });
      b.s('send', { qp: 'b', op: 'BIND_MW', mw: 'w', bmr: 'rb', boff: 1024, blen: 1024, bacc: acc, flags: F.SIG, id: 50 });
      b.s('poll', { cq: 'cb', n: 1 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 1024, rkey: 'w', add: 1, flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b').s('mem', { mr: 'rb', off: 1024, len: 8 });
    });
  }
  // outside the window's range
  for (const roff of [1016, 2048, 2044, 512]) {
    build(c, `type2/range/off${roff}`, 'mw', (b) => {
      mwPair(b, ALL | A.BIND);
      b.s('mw', { n: 'w', type: 2 });
      b.s('send', { qp: 'b', op: 'BIND_MW', mw: 'w', bmr: 'rb', boff: 1024, blen: 1024, bacc: A.RW, flags: F.SIG, id: 50 });
      b.s('poll', { cq: 'cb', n: 1 });
      b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff, rkey: 'w', flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
    });
  }
  // binding an MR without MW_BIND, a range beyond the MR, and rights the MR lacks
  for (const [name, racc, boff, blen, bacc] of [['no-mw-bind', ALL, 0, 1024, A.RW], ['beyond-mr', ALL | A.BIND, 3072, 2048, A.RW], ['write-without-lw', A.RR | A.BIND, 0, 1024, A.RW]] as const) {
    build(c, `type2/bind-${name}`, 'mw', (b) => {
      b.pair({ racc: racc === (A.RR | A.BIND) ? A.LW | A.RR | A.BIND : racc });
      b.s('mw', { n: 'w', type: 2 });
      const post = b.next;
      b.s('send', { qp: 'b', op: 'BIND_MW', mw: 'w', bmr: 'rb', boff, blen, bacc, flags: F.SIG, id: 50 });
      b.s('poll', { cq: 'cb', n: 1 }).states('b');
      if (name === 'beyond-mr') {
        b.brokerAnswers(`${OWN_MEMORY_REASON} (here a bind range beyond the MR, which rxe completes with MW_BIND_ERR)`, {
          [`r[${post}].err`]: 22, [`r[${post}].bad`]: 0, [`r[${post + 1}].wc`]: [], [`r[${post + 2}].st`]: 'RTS',
        });
      }
    });
  }
  // invalidate: LOCAL_INV then use; SEND_WITH_INV
  build(c, 'type2/local-inv', 'mw', (b) => {
    mwPair(b, ALL | A.BIND);
    b.s('mw', { n: 'w', type: 2 });
    b.s('send', { qp: 'b', op: 'BIND_MW', mw: 'w', bmr: 'rb', boff: 0, blen: 4096, bacc: A.RW, flags: F.SIG, id: 50 });
    b.s('poll', { cq: 'cb', n: 1 });
    b.s('send', { qp: 'b', op: 'LOCAL_INV', rkey: 'w', flags: F.SIG, id: 51 });
    b.s('poll', { cq: 'cb', n: 1 });
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'w', flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
  });
  // The peer's SEND_WITH_INV revokes b's window: b's receive completes with WITH_INV, then the rkey is dead.
  build(c, 'type2/send-inv', 'mw', (b) => {
    mwPair(b, ALL | A.BIND);
    b.s('mw', { n: 'w', type: 2 });
    b.s('send', { qp: 'b', op: 'BIND_MW', mw: 'w', bmr: 'rb', boff: 0, blen: 2048, bacc: A.RW, flags: F.SIG, id: 50 });
    b.s('poll', { cq: 'cb', n: 1 });
    b.s('recv', { qp: 'b', mr: 'rb', off: 2048, len: 64, id: 70 });
    b.s('send', { qp: 'a', op: 'SEND_WITH_INV', mr: 'la', off: 0, len: 16, rkey: 'w', flags: F.SIG, id: 2 });
    b.s('poll', { cq: 'ca', n: 1 });
    b.s('poll', { cq: 'cb', n: 1 });
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 0, rkey: 'w', flags: F.SIG, id: 3 });
    b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
  });
  // type 1: ibv_bind_mw
  for (const [acc, op] of [[A.RW, 'RDMA_WRITE'], [A.RR, 'RDMA_READ'], [A.RR, 'RDMA_WRITE']] as const) {
    build(c, `type1/acc${acc}/${op}`, 'mw', (b) => {
      mwPair(b, ALL | A.BIND);
      b.s('mw', { n: 'w', type: 1 });
      b.s('bind1', { qp: 'b', mw: 'w', mr: 'rb', off: 0, len: 2048, acc, id: 60 });
      b.s('poll', { cq: 'cb', n: 1 });
      b.s('send', { qp: 'a', op, mr: 'la', off: 0, len: 8, rmr: 'rb', roff: 8, rkey: 'w', flags: F.SIG, id: 1 });
      b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
    });
  }
  // a deregistered MR's rkey
  build(c, 'dereg/rkey', 'mw', (b) => {
    b.pair();
    b.s('mr', { n: 'old', len: 4096, acc: ALL });
    b.s('dereg', { mr: 'old' });
    b.s('send', { qp: 'a', op: 'RDMA_WRITE', mr: 'la', off: 0, len: 8, rmr: 'old', roff: 0, rkey: 'old', flags: F.SIG, id: 1 });
    b.s('poll', { cq: 'ca', n: 1 }).states('a', 'b');
  });
}

/** Every case of the catalog, in a fixed order. */
export function buildCatalog(): Case[] {
  const c: Case[] = [];
  errorCases(c);
  flushCases(c);
  rnrCases(c);
  atomicCases(c);
  postCases(c);
  cqCases(c);
  udCases(c);
  modifyCases(c);
  srqCases(c);
  mwCases(c);
  const seen = new Set<string>();
  for (const k of c) {
    if (seen.has(k.name)) throw new Error(`duplicate case name ${k.name}`);
    seen.add(k.name);
  }
  return c;
}

/** The text form the C recorder reads. */
export function renderCatalog(cases: readonly Case[]): string {
  const out: string[] = ['# generated from test/differential/catalog.ts (see catalog.test.ts); do not edit'];
  for (const k of cases) {
    out.push(`case ${k.name} ${k.area}`);
    for (const s of k.steps) out.push([s.op, ...Object.entries(s.args).map(([key, v]) => `${key}=${v}`)].join(' '));
    out.push('end');
  }
  return out.join('\n') + '\n';
}
