/**
 * The client library's codec CPU per call, in-process: each verb's request
 * encoded and its reply decoded the way src/client/session.ts does it
 * (src/client/codec.ts, one pass) next to the two passes it replaced
 * (encodeAttrs then the wire codec; the wire codec then objectRecord /
 * decodeAttrs), on the benchmark's own attributes and replies.
 * Usage: [N=20000] node .cache/bench-build/bench/tools/client-codec.js
 */
import { objectRecord } from '../../src/client/client.js';
import { decodeAttrsReply, decodeObjectReply, encodeCreate, encodeInvoke, encodeModify } from '../../src/client/codec.js';
import { userHandleOf } from '../../src/client/objects.js';
import { decodeAttrs, encodeAttrs, handle, type AttrMap } from '../../src/client/values.js';
import { CODECS } from '../../src/wire/codec.js';
import type { ObjectInfo__Output } from '../../src/wire/gen/rdmabroker/v1/ObjectInfo.js';
import { toWireMap } from '../../src/wire/values.js';
import { modifyAttrs, qpCreateAttrs, writeWr } from '../lib/drivers.js';

const N = Number(process.env.N ?? 20000);
const c = (n: string): (typeof CODECS)[string] => CODECS[`rdmabroker.v1.${n}`] as (typeof CODECS)[string];
const gid = 'fe80:0000:0000:0000:0200:00ff:fe00:0001';
const mr = { addr: 0x7f0000001000n, lkey: 0x1234, rkey: 0x5678 };
const objectBytes = c('ObjectReply').encode({
  object: { handle: 42, type: 'qp', device: 'sim0', session: 's-1', tenant: 'default', user_handle: 0, parents: [1, 2, 2], created_unix_ms: Date.now(), attrs: toWireMap({ qp_num: 17, state: 'INIT', max_send_wr: 64, max_recv_wr: 16, max_inline_data: 0 }), pod: null },
});
const pollBytes = c('InvokeReply').encode({ attrs: toWireMap({ wcs: [{ wr_id: 1, status: 'SUCCESS', opcode: 'RDMA_WRITE', byte_len: 64, qp_num: 17, wc_flags: 0, src_qp: 0, imm_data: 0 }] }) });
const emptyBytes = c('InvokeReply').encode({ attrs: {} });

type Case = [string, () => unknown, () => unknown];
const cases: Case[] = [
  ['create qp', () => {
    const a = qpCreateAttrs(handle(1), handle(2)) as AttrMap;
    c('CreateRequest').encode({ type: 'qp', device: '', attrs: encodeAttrs(a), user_handle: userHandleOf(undefined) });
    return objectRecord((c('ObjectReply').decode(objectBytes) as { object: ObjectInfo__Output }).object);
  }, () => {
    encodeCreate('qp', '', qpCreateAttrs(handle(1), handle(2)) as AttrMap, undefined);
    return decodeObjectReply(objectBytes).object;
  }],
  ['modify qp RTR', () => {
    c('ModifyRequest').encode({ handle: '42', attrs: encodeAttrs(modifyAttrs('RTR', 17, gid) as AttrMap) });
    return objectRecord((c('ObjectReply').decode(objectBytes) as { object: ObjectInfo__Output }).object);
  }, () => {
    encodeModify('42', modifyAttrs('RTR', 17, gid) as AttrMap);
    return decodeObjectReply(objectBytes).object;
  }],
  ['post_send', () => {
    c('InvokeRequest').encode({ handle: '42', method: 'post_send', attrs: encodeAttrs(writeWr(mr) as AttrMap), device: '' });
    return decodeAttrs((c('InvokeReply').decode(emptyBytes) as { attrs: never }).attrs);
  }, () => {
    encodeInvoke('42', 'post_send', writeWr(mr) as AttrMap, '');
    return decodeAttrsReply(emptyBytes).attrs;
  }],
  ['poll (1 wc)', () => {
    c('InvokeRequest').encode({ handle: '7', method: 'poll', attrs: encodeAttrs({ max: 16 }), device: '' });
    return decodeAttrs((c('InvokeReply').decode(pollBytes) as { attrs: never }).attrs);
  }, () => {
    encodeInvoke('7', 'poll', { max: 16 }, '');
    return decodeAttrsReply(pollBytes).attrs;
  }],
];

const cpu = (f: () => unknown): number => {
  for (let i = 0; i < 2000; i++) f();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) f();
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / N;
};
for (const [name, two, one] of cases) {
  // Alternated, so load changes hit both alike.
  let a = 0;
  let b = 0;
  for (let k = 0; k < 3; k++) {
    a += cpu(two);
    b += cpu(one);
  }
  process.stdout.write(`${name}: two passes ${(a / 3).toFixed(2)} µs, one pass ${(b / 3).toFixed(2)} µs CPU per call (${(a / b).toFixed(2)}x)\n`);
}
