/**
 * The QP state machine as the kernel checks it (`ib_modify_qp_is_ok` and its
 * `qp_state_table` in drivers/infiniband/core/verbs.c): per (current, next)
 * state and QP type, the attribute-mask bits that are required and those that
 * are optional. Any missing required bit, or any bit that is neither required
 * nor optional (besides STATE), makes the modify fail with EINVAL.
 *
 * The table is data, written from the kernel's rules for the QP types the
 * sim implements (RC, UC, UD). Note what the kernel table does NOT allow:
 * RESET -> ERR, RTR -> RTR, SQE -> SQE, and CUR_STATE outside RTR/RTS/SQD/SQE.
 */
import { QpAttrMask as M, type QpState, type QpType } from '../abi.js';

type PerType = Partial<Record<QpType, number>>;
interface Transition {
  req?: PerType;
  opt?: PerType;
}

const RC_UC_INIT = M.PKEY_INDEX | M.PORT | M.ACCESS_FLAGS;
const UD_INIT = M.PKEY_INDEX | M.PORT | M.QKEY;

// RTS->RTS, SQD->RTS (and RTR->RTS optional) share most optional bits.
const TO_RTS_OPT: PerType = {
  UD: M.CUR_STATE | M.QKEY,
  UC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.PATH_MIG_STATE,
  RC: M.CUR_STATE | M.ALT_PATH | M.ACCESS_FLAGS | M.MIN_RNR_TIMER | M.PATH_MIG_STATE,
};

/** `QP_STATE_TABLE[cur][next]`, absent = not a legal transition. */
export const QP_STATE_TABLE: Readonly<Record<QpState, Partial<Record<QpState, Transition>>>> = {
  RESET: {
    RESET: {},
    INIT: { req: { UD: UD_INIT, UC: RC_UC_INIT, RC: RC_UC_INIT, RAW_PACKET: M.PORT } },
  },
  INIT: {
    RESET: {},
    ERR: {},
    INIT: { opt: { UD: UD_INIT, UC: RC_UC_INIT, RC: RC_UC_INIT } },
    RTR: {
      req: {
        UC: M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN,
        RC: M.AV | M.PATH_MTU | M.DEST_QPN | M.RQ_PSN | M.MAX_DEST_RD_ATOMIC | M.MIN_RNR_TIMER,
      },
      opt: {
        UD: M.PKEY_INDEX | M.QKEY,
        UC: M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX,
        RC: M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX,
      },
    },
  },
  RTR: {
    RESET: {},
    ERR: {},
    RTS: {
      req: {
        UD: M.SQ_PSN,
        UC: M.SQ_PSN,
        RC: M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.SQ_PSN | M.MAX_QP_RD_ATOMIC,
      },
      opt: { ...TO_RTS_OPT, RAW_PACKET: M.RATE_LIMIT },
    },
  },
  RTS: {
    RESET: {},
    ERR: {},
    RTS: { opt: { ...TO_RTS_OPT, RAW_PACKET: M.RATE_LIMIT } },
    SQD: { opt: { UD: M.EN_SQD_ASYNC_NOTIFY, UC: M.EN_SQD_ASYNC_NOTIFY, RC: M.EN_SQD_ASYNC_NOTIFY } },
  },
  SQD: {
    RESET: {},
    ERR: {},
    RTS: { opt: TO_RTS_OPT },
    SQD: {
      opt: {
        UD: M.PKEY_INDEX | M.QKEY,
        UC: M.AV | M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX | M.PATH_MIG_STATE,
        RC:
          M.PORT | M.AV | M.TIMEOUT | M.RETRY_CNT | M.RNR_RETRY | M.MAX_QP_RD_ATOMIC | M.MAX_DEST_RD_ATOMIC |
          M.ALT_PATH | M.ACCESS_FLAGS | M.PKEY_INDEX | M.MIN_RNR_TIMER | M.PATH_MIG_STATE,
      },
    },
  },
  SQE: {
    RESET: {},
    ERR: {},
    RTS: { opt: { UD: M.CUR_STATE | M.QKEY, UC: M.CUR_STATE | M.ACCESS_FLAGS } },
  },
  ERR: {
    RESET: {},
    ERR: {},
  },
};

/** Mirrors ib_modify_qp_is_ok(cur, next, type, mask). */
export function modifyQpIsOk(cur: QpState, next: QpState, type: QpType, mask: number): boolean {
  if (mask & M.CUR_STATE && cur !== 'RTR' && cur !== 'RTS' && cur !== 'SQD' && cur !== 'SQE') return false;
  const t = QP_STATE_TABLE[cur][next];
  if (!t) return false;
  const req = t.req?.[type] ?? 0;
  const opt = t.opt?.[type] ?? 0;
  if ((mask & req) !== req) return false;
  if (mask & ~(req | opt | M.STATE)) return false;
  return true;
}

/** The required bits of a transition (for tests and error messages). */
export function requiredMask(cur: QpState, next: QpState, type: QpType): number | null {
  const t = QP_STATE_TABLE[cur][next];
  return t ? t.req?.[type] ?? 0 : null;
}
