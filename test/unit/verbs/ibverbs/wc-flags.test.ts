/**
 * wc_flags by name: the libibverbs backend maps what a provider wrote into
 * `ibv_wc.wc_flags` to the broker's WC_FLAGS (libibverbs' enum ibv_wc_flags,
 * checked here against the installed header), whichever numbering the
 * provider uses (rxe hands out the kernel's enum ib_wc_flags), and reads
 * imm_data as the immediate or the invalidated rkey accordingly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WC_FLAGS } from '../../../../src/verbs/abi.js';
import { L } from '../../../../src/verbs/ibverbs/binding.js';
import { decodeWc, wcFlagsAbi, wcFlagsTable, type WcFlagsAbi } from '../../../../src/verbs/ibverbs/codec.js';

const HEADER = '/usr/include/infiniband/verbs.h';

/** One struct ibv_wc as a provider would leave it: a RECV with these raw flags and this u32 in imm_data's place. */
function wc(rawFlags: number, immWord: number, immBigEndian: boolean): DataView {
  const v = new DataView(new ArrayBuffer(L.wc.$size));
  v.setBigUint64(L.wc.wr_id, 70n, true);
  v.setUint32(L.wc.opcode, 128, true);
  v.setUint32(L.wc.byte_len, 16, true);
  v.setUint32(L.wc.imm_data, immWord, !immBigEndian);
  v.setUint32(L.wc.wc_flags, rawFlags, true);
  return v;
}
const decode = (abi: WcFlagsAbi, raw: number, imm = 0, be = false) => decodeWc(wc(raw, imm, be), 0, wcFlagsTable(abi));
const { GRH, WITH_IMM, IP_CSUM_OK, WITH_INV } = WC_FLAGS;

describe('wc_flags by name (libibverbs backend)', () => {
  it('rxe numbers them as the kernel does: its SEND_WITH_INV receive (5) is GRH and WITH_INV, imm_data the rkey', () => {
    expect(wcFlagsAbi('rxe')).toBe('kernel');
    const w = decode('kernel', 1 | 4, 0x0800013a);
    expect(w.wc_flags).toBe(GRH | WITH_INV);
    expect(w.imm_data).toBe(0x0800013a);
    // the kernel's IP_CSUM_OK is bit 3
    expect(decode('kernel', 8, 0x1234).wc_flags).toBe(IP_CSUM_OK);
    expect(decode('kernel', 8, 0x1234).imm_data).toBe(0);
  });

  it('a libibverbs provider\'s IP_CSUM_OK is not an invalidation, and its WITH_INV is', () => {
    expect(wcFlagsAbi('mlx5')).toBe('libibverbs');
    const csum = decode('libibverbs', 1 | 4, 0x0800013a);
    expect(csum.wc_flags).toBe(GRH | IP_CSUM_OK);
    expect(csum.imm_data).toBe(0);
    const inv = decode('libibverbs', 1 | 8, 0x0800013a);
    expect(inv.wc_flags).toBe(GRH | WITH_INV);
    expect(inv.imm_data).toBe(0x0800013a);
  });

  it('WITH_IMM reads imm_data in network order on both numberings', () => {
    for (const abi of ['kernel', 'libibverbs'] as const) {
      const w = decode(abi, 1 | 2, 0xdeadbeef, true);
      expect(w.wc_flags, abi).toBe(GRH | WITH_IMM);
      expect(w.imm_data, abi).toBe(0xdeadbeef);
    }
  });

  it('drops bits without a name (the kernel\'s SMAC/VLAN/network-header ones, anything above libibverbs\' enum)', () => {
    expect(decode('kernel', 16 | 32 | 64 | 1).wc_flags).toBe(GRH);
    expect(decode('libibverbs', 0x80 | 0x100 | 0x8000_0000 | 2, 7, true).wc_flags).toBe(WITH_IMM);
    // every libibverbs bit keeps its name
    for (const bit of Object.values(WC_FLAGS)) expect(decode('libibverbs', bit).wc_flags).toBe(bit);
  });
});

const missing = !existsSync(HEADER) ? `${HEADER} is missing (apt-get install libibverbs-dev)` : null;
if (missing) console.warn(`skipping the wc_flags header check: ${missing}`);

describe.skipIf(missing !== null)('WC_FLAGS (rdma-core header)', () => {
  it('is libibverbs\' enum ibv_wc_flags', () => {
    const names = Object.keys(WC_FLAGS);
    const src = ['#include <stdio.h>', '#include <infiniband/verbs.h>', 'int main(void) {',
      ...names.map((n) => `  printf("${n}=%d\\n", (int)IBV_WC_${n});`), '  return 0;', '}', ''].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'ibv-wcflags-'));
    try {
      writeFileSync(join(dir, 'f.c'), src);
      execFileSync('gcc', ['-o', join(dir, 'f'), join(dir, 'f.c')], { stdio: 'pipe' });
      const out = execFileSync(join(dir, 'f'), { encoding: 'utf8' });
      expect(Object.fromEntries(out.trim().split('\n').map((l) => [l.split('=')[0], Number(l.split('=')[1])]))).toEqual(WC_FLAGS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
