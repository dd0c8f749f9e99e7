/**
 * fd passing round trips over the daemon's fd channel (SCM_RIGHTS on a
 * SOCK_SEQPACKET socket beside the gRPC socket; docs/fd-channel.md):
 * - fd out: get_fd on an MR (the daemon sends the memfd behind it),
 * - fd in: reg_mr over a memfd this process hands in (a verb plus an fd).
 */
import { FdChannel } from '../src/client/fd-channel.js';
import * as libc from '../src/sys/libc.js';
import { SharedMemory } from '../src/sys/memory.js';
import { HandleValue } from '../src/wire/values.js';
import { Conn, w } from './lib/client.js';
import { loop, summarize, timed, type LoopBudget, type Summary } from './lib/stats.js';
import { ACCESS_RW } from './lib/drivers.js';

export interface FdsResult {
  status: string;
  rows: { label: string; summary: Summary }[];
}

export async function runFds(socket: string, budget: LoopBudget): Promise<FdsResult> {
  const conn = new Conn(socket);
  await conn.ready();
  const s = await conn.openSession('bench-fds');
  try {
    if (!s.fdSocket || !s.fdToken) return { status: 'not measured: the daemon offers no fd channel (SessionOpened.fd_socket is empty)', rows: [] };
    const ch = await FdChannel.connect(s.fdSocket, s.fdToken);
    try {
      const pd = await s.createH('pd', {}, 'sim0');
      const mr = await s.create({ type: 'mr', attrs: w({ pd: new HandleValue(Number(pd)), length: 4096, access: ACCESS_RW }) });
      const mrH = Number(mr.object?.handle);
      const mem = SharedMemory.create(4096, 'rdma-bench-mr');
      try {
        const m = await loop(budget, async (rec) => {
          await timed(rec, 'get_fd', async () => {
            const r = await ch.mrFd(mrH);
            libc.close(r.fd);
          });
          const reg = await timed(rec, 'reg_mr', () => ch.regMr({ pd: Number(pd), fd: mem.fd, length: 4096, access: ACCESS_RW }));
          await s.destroy(String(reg.handle));
        });
        const rows: FdsResult['rows'] = [];
        const get = m.get('get_fd');
        const reg = m.get('reg_mr');
        if (get) rows.push({ label: 'get_fd: MR memfd out (request, reply + 1 fd, close it)', summary: summarize(get.lat, get.wallUs) });
        if (reg) rows.push({ label: 'reg_mr 4 KiB over a memfd handed in (request + 1 fd, reply)', summary: summarize(reg.lat, reg.wallUs) });
        return { status: `fd channel ${s.fdSocket} (SOCK_SEQPACKET, SCM_RIGHTS), client: src/client/fd-channel.ts`, rows };
      } finally {
        mem.close();
      }
    } finally {
      ch.close();
    }
  } finally {
    s.end();
    conn.close();
  }
}
