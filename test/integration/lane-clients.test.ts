/**
 * The fast lane for other languages: the Python example client
 * (examples/fast-lane-write.py, stdlib only) does an RDMA WRITE through the
 * lane in both wait modes, and the C header (include/rdma-broker/fast-lane.h)
 * compiles and agrees with src/wire/lane-layout.ts on every offset.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { C, CQ_RING_HEADER, CQE_SIZE, E, ERR_SIZE, H, HEADER_SIZE, LaneErr, MAX_SGE, R, S, SQE_SIZE, SqeKind } from '../../src/wire/lane-layout.js';
import { DEVICE, ROOT, settle, SLOW, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';
import { LANE_DAEMON_ARGS, lanePair } from './lane-support.js';

const python = spawnSync('python3', ['-c', 'import os; os.eventfd']).status === 0;
const gcc = spawnSync('gcc', ['--version']).status === 0;

describe.skipIf(!python)('the Python example client', () => {
  let d: FdDaemon;
  beforeAll(async () => {
    d = await spawnFdDaemon('lane-py', [...LANE_DAEMON_ARGS]);
    await settle(d);
  });
  afterAll(async () => {
    await d?.stop();
  });

  for (const wait of ['spin', 'doorbell'] as const) {
    it(`--wait ${wait}: writes through the lane and checks the bytes`, async () => {
      const p = await lanePair(d.socket, { bytes: 8192 });
      try {
        // The example opens a lane of its own and attaches the CQ there.
        await p.lane.close();
        const t = await p.s.issueFdToken();
        const args = { fd_socket: t.fdSocket, fd_token: t.token, qp: p.a.handle, cq: p.cq.handle, src: p.src.handle, dst: p.dst.handle, bytes: 8192, wait };
        const py = spawn('python3', [path.join(ROOT, 'examples/fast-lane-write.py'), JSON.stringify(args)]);
        let out = '';
        py.stdout.on('data', (b: Buffer) => (out += b.toString()));
        py.stderr.on('data', (b: Buffer) => (out += b.toString()));
        const code = await new Promise<number | null>((r) => {
          const k = setTimeout(() => py.kill('SIGKILL'), 30_000 * SLOW);
          py.on('exit', (c) => {
            clearTimeout(k);
            r(c);
          });
        });
        expect(out).toBe('rdma-write ok 8192 bytes\n');
        expect(code).toBe(0);
        // The bytes Python wrote and checked are in this process's mapping of the same MRs too.
        expect(p.dst.memory.read(0, 8192).equals(p.src.memory.read(0, 8192))).toBe(true);
      } finally {
        await p.close();
      }
    });
  }
});

describe('npm run example:write -- --lane fast', () => {
  let d: FdDaemon;
  beforeAll(async () => {
    d = await spawnFdDaemon('lane-example', [...LANE_DAEMON_ARGS]);
  });
  afterAll(async () => {
    await d?.stop();
  });

  for (const wait of ['events', 'poll'] as const) {
    it(`--wait ${wait}: prints rdma-write ok, as over gRPC`, async () => {
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [path.join(ROOT, 'dist/examples/rdma-write.js'), '--socket', d.socket, '--device', DEVICE, '--lane', 'fast', '--wait', wait, '--bytes', '65536'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (b: Buffer) => (out += b.toString()));
        p.stderr.on('data', (b: Buffer) => (out += b.toString()));
        p.on('exit', (code) => resolve({ code, out }));
      });
      expect(r.out).toBe('rdma-write ok 65536 bytes\n');
      expect(r.code).toBe(0);
      // It went through a lane, and the lane posted one WR and moved one completion.
      const closed = await waitFor(() => d.logs.filter((l) => l.msg === 'fast lane closed').at(-1), 3000, 'the example\'s lane to close') as unknown as { posted: number; completions: number };
      expect(closed.posted).toBe(1);
      expect(closed.completions).toBe(1);
      d.logs.length = 0;
    });
  }
});

describe.skipIf(!gcc)('the C header', () => {
  it('compiles (-Wall -Werror, C11) and has the offsets of src/wire/lane-layout.ts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbfl-'));
    const c = path.join(dir, 'offsets.c');
    fs.writeFileSync(c, `#include <stdio.h>
#include "rdma-broker/fast-lane.h"
#define O(t, f) printf("\\"%s.%s\\": %zu,\\n", #t, #f, offsetof(struct t, f))
int main(void) {
  printf("{\\n");
  O(rbfl_header, sq_entries); O(rbfl_header, sq_offset); O(rbfl_header, cq_rings); O(rbfl_header, cq_entries);
  O(rbfl_header, cq_offset); O(rbfl_header, cq_ring_size); O(rbfl_header, err_entries); O(rbfl_header, err_offset);
  O(rbfl_header, max_sge); O(rbfl_header, total_size);
  O(rbfl_header, sq_tail); O(rbfl_header, sq_head); O(rbfl_header, err_tail); O(rbfl_header, err_dropped); O(rbfl_header, err_head); O(rbfl_header, state);
  O(rbfl_sqe, opcode); O(rbfl_sqe, num_sge); O(rbfl_sqe, send_flags); O(rbfl_sqe, handle); O(rbfl_sqe, wr_id); O(rbfl_sqe, remote_addr);
  O(rbfl_sqe, rkey); O(rbfl_sqe, imm); O(rbfl_sqe, compare_add); O(rbfl_sqe, swap); O(rbfl_sqe, remote_qpn); O(rbfl_sqe, remote_qkey);
  O(rbfl_sqe, ah); O(rbfl_sqe, bind_mw); O(rbfl_sqe, bind_mr); O(rbfl_sqe, bind_access); O(rbfl_sqe, sge);
  O(rbfl_cqe, status); O(rbfl_cqe, opcode); O(rbfl_cqe, vendor_err); O(rbfl_cqe, byte_len); O(rbfl_cqe, imm_data); O(rbfl_cqe, qp_num);
  O(rbfl_cqe, src_qp); O(rbfl_cqe, wc_flags); O(rbfl_cqe, pkey_index); O(rbfl_cqe, slid); O(rbfl_cqe, sl); O(rbfl_cqe, dlid_path_bits);
  O(rbfl_cq_ring, tail); O(rbfl_cq_ring, stalled); O(rbfl_cq_ring, state); O(rbfl_cq_ring, cq_handle); O(rbfl_cq_ring, entries);
  O(rbfl_err_rec, err_no); O(rbfl_err_rec, code); O(rbfl_err_rec, kind_opcode); O(rbfl_err_rec, wr_id); O(rbfl_err_rec, handle);
  printf("\\"sizes\\": [%zu, %zu, %zu, %u, %u, %u, %u, %d, %d]\\n}\\n", sizeof(struct rbfl_sqe), sizeof(struct rbfl_cqe), sizeof(struct rbfl_err_rec),
    RBFL_HEADER_SIZE, RBFL_CQ_RING_HEADER, RBFL_MAX_SGE, RBFL_MAGIC, RBFL_REQ_NOTIFY, RBFL_ERR_REFUSED);
  return 0;
}
`);
    const bin = path.join(dir, 'offsets');
    const cc = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-I', path.join(ROOT, 'include'), '-o', bin, c], { encoding: 'utf8' });
    expect(cc.stderr).toBe('');
    expect(cc.status).toBe(0);
    const got = JSON.parse(spawnSync(bin, { encoding: 'utf8' }).stdout) as Record<string, number | number[]>;
    fs.rmSync(dir, { recursive: true, force: true });
    expect(got).toEqual({
      'rbfl_header.sq_entries': H.sqEntries, 'rbfl_header.sq_offset': H.sqOffset, 'rbfl_header.cq_rings': H.cqRings,
      'rbfl_header.cq_entries': H.cqEntries, 'rbfl_header.cq_offset': H.cqOffset, 'rbfl_header.cq_ring_size': H.cqRingSize,
      'rbfl_header.err_entries': H.errEntries, 'rbfl_header.err_offset': H.errOffset, 'rbfl_header.max_sge': H.maxSge,
      'rbfl_header.total_size': H.totalSize, 'rbfl_header.sq_tail': H.sqTail, 'rbfl_header.sq_head': H.sqHead,
      'rbfl_header.err_tail': H.errTail, 'rbfl_header.err_dropped': H.errDropped, 'rbfl_header.err_head': H.errHead, 'rbfl_header.state': H.state,
      'rbfl_sqe.opcode': S.opcode, 'rbfl_sqe.num_sge': S.numSge, 'rbfl_sqe.send_flags': S.sendFlags, 'rbfl_sqe.handle': S.handle,
      'rbfl_sqe.wr_id': S.wrId, 'rbfl_sqe.remote_addr': S.remoteAddr, 'rbfl_sqe.rkey': S.rkey, 'rbfl_sqe.imm': S.imm,
      'rbfl_sqe.compare_add': S.compareAdd, 'rbfl_sqe.swap': S.swap, 'rbfl_sqe.remote_qpn': S.remoteQpn, 'rbfl_sqe.remote_qkey': S.remoteQkey,
      'rbfl_sqe.ah': S.ah, 'rbfl_sqe.bind_mw': S.bindMw, 'rbfl_sqe.bind_mr': S.bindMr, 'rbfl_sqe.bind_access': S.bindAccess, 'rbfl_sqe.sge': S.sge,
      'rbfl_cqe.status': C.status, 'rbfl_cqe.opcode': C.opcode, 'rbfl_cqe.vendor_err': C.vendorErr, 'rbfl_cqe.byte_len': C.byteLen,
      'rbfl_cqe.imm_data': C.immData, 'rbfl_cqe.qp_num': C.qpNum, 'rbfl_cqe.src_qp': C.srcQp, 'rbfl_cqe.wc_flags': C.wcFlags,
      'rbfl_cqe.pkey_index': C.pkeyIndex, 'rbfl_cqe.slid': C.slid, 'rbfl_cqe.sl': C.sl, 'rbfl_cqe.dlid_path_bits': C.dlidPathBits,
      'rbfl_cq_ring.tail': R.tail, 'rbfl_cq_ring.stalled': R.stalled, 'rbfl_cq_ring.state': R.state, 'rbfl_cq_ring.cq_handle': R.cqHandle,
      'rbfl_cq_ring.entries': CQ_RING_HEADER,
      'rbfl_err_rec.err_no': E.errno, 'rbfl_err_rec.code': E.code, 'rbfl_err_rec.kind_opcode': E.kindOpcode, 'rbfl_err_rec.wr_id': E.wrId,
      'rbfl_err_rec.handle': E.handle,
      sizes: [SQE_SIZE, CQE_SIZE, ERR_SIZE, HEADER_SIZE, CQ_RING_HEADER, MAX_SGE, 0x4c464252, SqeKind.REQ_NOTIFY, LaneErr.REFUSED],
    });
  });
});
