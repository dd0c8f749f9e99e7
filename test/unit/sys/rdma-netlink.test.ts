/**
 * The provider of a device whatever its name: RDMA netlink's messages
 * (src/sys/rdma-netlink.ts) built and read byte for byte, hostile replies
 * bounded, and providerOf (src/verbs/ibverbs/index.ts) taking the kernel's
 * driver id over the name, its table checked against the installed
 * rdma/ib_user_ioctl_verbs.h. On rxe0 itself: test/rxe/provider-ibverbs.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attrString, attrU32, encodeRequest, NL, parseMessages, rdmaNlType } from '../../../src/sys/rdma-netlink.js';
import { wcFlagsAbi } from '../../../src/verbs/ibverbs/codec.js';
import { DRIVER_IDS, providerOf } from '../../../src/verbs/ibverbs/index.js';

const HEADER = '/usr/include/rdma/ib_user_ioctl_verbs.h';

/** A reply message as the kernel writes it: nlmsghdr, then u32 / string attributes. */
function reply(type: number, seq: number, attrs: [number, number | string][], flags = 0): Buffer {
  return encodeRequest(type, flags, seq, attrs);
}

describe('RDMA netlink messages', () => {
  it('writes GET_CHARDEV as libibverbs does: header, DEV_INDEX u32, CHARDEV_TYPE "uverbs\\0", 4-byte aligned', () => {
    const b = encodeRequest(rdmaNlType(NL.RDMA_NLDEV_CMD_GET_CHARDEV), NL.NLM_F_REQUEST, 7, [
      [NL.RDMA_NLDEV_ATTR_DEV_INDEX, 3],
      [NL.RDMA_NLDEV_ATTR_CHARDEV_TYPE, 'uverbs'],
    ]);
    expect(b.toString('hex')).toBe([
      '24000000', '0f14', '0100', '07000000', '00000000', // len 36, type (5 << 10) + 15, NLM_F_REQUEST, seq 7, pid 0
      '0800', '0100', '03000000', // DEV_INDEX = 3
      '0b00', '4500', '75766572627300', '00', // CHARDEV_TYPE (69) = "uverbs\0", padded
    ].join(''));
    expect(rdmaNlType(NL.RDMA_NLDEV_CMD_GET)).toBe(0x1401);
  });

  it('reads a dump: several messages per datagram, each attribute by type, DONE and errors', () => {
    const dev = (i: number, name: string): Buffer => reply(rdmaNlType(1), 1, [[NL.RDMA_NLDEV_ATTR_DEV_INDEX, i], [NL.RDMA_NLDEV_ATTR_DEV_NAME, name]], NL.NLM_F_MULTI);
    const done = reply(NL.NLMSG_DONE, 1, []);
    const ms = parseMessages(Buffer.concat([dev(0, 'rxe0'), dev(4, 'roce_b'), done]));
    expect(ms.map((m) => [m.type, attrU32(m, NL.RDMA_NLDEV_ATTR_DEV_INDEX), attrString(m, NL.RDMA_NLDEV_ATTR_DEV_NAME)])).toEqual([
      [0x1401, 0, 'rxe0'], [0x1401, 4, 'roce_b'], [NL.NLMSG_DONE, null, null],
    ]);
    const err = Buffer.alloc(36);
    err.writeUInt32LE(36, 0);
    err.writeUInt16LE(NL.NLMSG_ERROR, 4);
    err.writeUInt32LE(2, 8);
    err.writeInt32LE(-22, 16);
    expect(parseMessages(err)).toMatchObject([{ type: NL.NLMSG_ERROR, seq: 2, error: -22 }]);
    // The driver id as a u64 attribute (what the header's comment says it is) reads by its low half.
    const u64 = Buffer.from('1c000000' + '0f14' + '0000' + '02000000' + '00000000' + '0c00' + '4900' + '0e00000000000000', 'hex');
    const [m] = parseMessages(u64);
    expect(m && attrU32(m, NL.RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID)).toBe(14);
    // A short one is none.
    const short = Buffer.from('18000000' + '0f14' + '0000' + '02000000' + '00000000' + '0600' + '4900' + '0e000000', 'hex');
    expect(attrU32(parseMessages(short)[0]!, NL.RDMA_NLDEV_ATTR_UVERBS_DRIVER_ID)).toBe(null);
  });

  it('stops at lengths that do not fit: no read past the datagram, no endless walk', () => {
    const good = reply(rdmaNlType(1), 1, [[NL.RDMA_NLDEV_ATTR_DEV_NAME, 'rxe0']]);
    const long = Buffer.from(good);
    long.writeUInt32LE(4096, 0);
    expect(parseMessages(long)).toEqual([]);
    const zero = Buffer.from(good);
    zero.writeUInt32LE(0, 0);
    expect(parseMessages(zero)).toEqual([]);
    // An attribute whose length runs past its message ends that message's attributes.
    const badAttr = Buffer.from(good);
    badAttr.writeUInt16LE(200, 16);
    expect(parseMessages(badAttr)[0]?.attrs.size).toBe(0);
    const zeroAttr = Buffer.from(good);
    zeroAttr.writeUInt16LE(0, 16);
    expect(parseMessages(zeroAttr)[0]?.attrs.size).toBe(0);
    expect(parseMessages(Buffer.alloc(8))).toEqual([]);
  });
});

describe('providerOf', () => {
  it('takes the kernel driver id over the name and sysfs: an rxe device named roce_b is rxe', async () => {
    expect(await providerOf('roce_b', () => 14)).toBe('rxe');
    expect(await providerOf('mlx5_0', () => 1)).toBe('mlx5');
    expect(await providerOf('hfi1_0', () => 15)).toBe('hfi1');
    // Where netlink cannot say (or says UNKNOWN, or an id past the table): the old rules, here the name's prefix.
    expect(await providerOf('roce_b', () => null)).toBe('roce_b');
    expect(await providerOf('rxe7', () => 0)).toBe('rxe');
    expect(await providerOf('siw3', () => 999)).toBe('siw');
  });

  it('reads completions of every rdmavt or rxe device, as named by its driver id, with the kernel\'s wc_flags', async () => {
    for (const [id, abi] of [[14, 'kernel'], [15, 'kernel'], [16, 'kernel'], [1, 'libibverbs'], [18, 'libibverbs']] as const) {
      expect(wcFlagsAbi(await providerOf('dev_x', () => id)), DRIVER_IDS[id]).toBe(abi);
    }
  });
});

const missing = !existsSync(HEADER) ? `${HEADER} is missing (apt-get install libibverbs-dev)` : null;
if (missing) console.warn(`skipping the driver id header check: ${missing}`);

describe.skipIf(missing !== null)('DRIVER_IDS (rdma-core header)', () => {
  it('names each value of enum rdma_driver_id the installed header has', () => {
    const body = /enum rdma_driver_id \{([^}]*)\}/.exec(readFileSync(HEADER, 'utf8'))?.[1] ?? '';
    const names = [...body.matchAll(/RDMA_DRIVER_([A-Z0-9_]+)\s*(=[^,]*)?,/g)].map((m) => m[1]!);
    expect(names).toContain('RXE');
    const src = ['#include <stdio.h>', '#include <rdma/ib_user_ioctl_verbs.h>', 'int main(void) {',
      ...names.map((n) => `  printf("${n}=%d\\n", (int)RDMA_DRIVER_${n});`), '  return 0;', '}', ''].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'rdma-driver-ids-'));
    try {
      writeFileSync(join(dir, 'f.c'), src);
      execFileSync('gcc', ['-o', join(dir, 'f'), join(dir, 'f.c')], { stdio: 'pipe' });
      const got = execFileSync(join(dir, 'f'), { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('='));
      for (const [name, value] of got) {
        // I40IW is IRDMA's old name (the same value); the rest are the driver's own name.
        const want = name === 'I40IW' ? 'irdma' : name!.toLowerCase();
        expect(DRIVER_IDS[Number(value)], `RDMA_DRIVER_${name}`).toBe(want);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
