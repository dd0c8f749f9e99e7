/**
 * The example client on memfd-backed MRs shared with it, in both wait modes,
 * against a real daemon (child process, sim device). The daemon's debug log
 * shows what crossed the control path: no MR reads or writes (the bytes are
 * written and checked in the example's own mapping), and with --wait events
 * one arm and a couple of polls instead of a polling loop.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../src/client/index.js';
import { rdmaWrite } from '../../src/examples/rdma-write.js';
import { DEVICE, ROOT, settle, spawnFdDaemon, waitFor, type FdDaemon } from './fd-support.js';
import { spawn } from 'node:child_process';

const EXAMPLE = path.join(ROOT, 'dist/examples/rdma-write.js');
let d: FdDaemon;
let baseline: number;

beforeAll(async () => {
  d = await spawnFdDaemon('example', [], { logLevel: 'debug' });
  baseline = await settle(d);
});
afterAll(async () => {
  await d?.stop();
});

function run(args: string[]): Promise<{ code: number | null; out: string; pid: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [EXAMPLE, '--socket', d.socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    p.on('exit', (code) => resolve({ code, out, pid: p.pid! }));
  });
}

/** The verbs one session ran, from the daemon's debug log. */
function verbsOf(session: string): { verb: string; type: string; method?: string }[] {
  return d.logs.filter((l) => l.msg === 'verb' && l.session === session) as never;
}

/**
 * The session whose fd channel the process bound. The daemon logs
 * asynchronously (pino to a pipe) and our reading of that pipe is one more
 * event: the line may arrive after the process's exit, so it is waited for.
 */
async function sessionOfPid(pid: number): Promise<string> {
  const l = await waitFor(() => d.logs.find((x) => x.msg === 'fd channel bound' && (x.peer as { pid: number } | undefined)?.pid === pid), 3000, `the fd channel bound by pid ${pid}`);
  return l.session as string;
}

describe('the example on shared memory', () => {
  for (const wait of ['events', 'poll'] as const) {
    it(`--wait ${wait}: writes and checks the bytes in its own mappings`, async () => {
      const r = await run(['--wait', wait, '--bytes', String(3 << 20)]);
      expect(r.out).toBe(`rdma-write ok ${3 << 20} bytes\n`);
      expect(r.code).toBe(0);
      const s = await sessionOfPid(r.pid);
      await waitFor(() => d.logs.some((l) => l.msg === 'session ended' && l.session === s), 3000, 'the session to end');
      const verbs = verbsOf(s);
      const invokes = verbs.filter((v) => v.verb === 'invoke');
      // The bytes never crossed the control path.
      expect(invokes.filter((v) => v.type === 'mr')).toEqual([]);
      expect(verbs.filter((v) => v.verb === 'create').map((v) => v.type).sort())
        .toEqual(wait === 'events' ? ['comp_channel', 'cq', 'mr', 'mr', 'pd', 'qp', 'qp'] : ['cq', 'mr', 'mr', 'pd', 'qp', 'qp']);
      const polls = invokes.filter((v) => v.method === 'poll').length;
      const arms = invokes.filter((v) => v.method === 'req_notify').length;
      if (wait === 'events') {
        expect(arms).toBeGreaterThanOrEqual(1);
        // poll before and after arming, then once after the event (the sim may complete before the arm's poll)
        expect(polls).toBeLessThanOrEqual(3);
      } else {
        expect(arms).toBe(0);
        expect(polls).toBeGreaterThanOrEqual(1);
      }
      await waitFor(() => d.fdCount() === baseline, 3000, `the daemon's fd count back to ${baseline} (now ${d.fdCount()})`);
    });
  }

  it('--memory daemon --wait events: daemon memory over the control path, completion from the event fd', async () => {
    const r = await run(['--memory', 'daemon', '--wait', 'events', '--bytes', '5000']);
    expect(r.out).toBe('rdma-write ok 5000 bytes\n');
    const s = await sessionOfPid(r.pid);
    await waitFor(() => d.logs.some((l) => l.msg === 'session ended' && l.session === s), 3000, 'the session to end');
    const mrIo = verbsOf(s).filter((v) => v.type === 'mr' && v.verb === 'invoke').map((v) => v.method);
    expect(mrIo.sort()).toEqual(['read', 'write']);
  });

  it('usage errors exit 2', async () => {
    expect((await run(['--wait', 'spin'])).code).toBe(2);
    expect((await run(['--memory', 'gpu'])).code).toBe(2);
  });
});

describe('the client library', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connect({ socket: d.socket });
  });
  afterAll(() => client?.close());

  it('rdmaWrite in process, and the session helpers: shared MRs, mapped MRs, event fds', async () => {
    const s = await client.openSession({ name: 'lib-fds' });
    expect(s.hasFdChannel).toBe(true);
    expect(s.fdSocket).toBe(d.fdSocket);
    expect(await rdmaWrite(client, s, { bytes: 12_345, wait: 'events' })).toBe(12_345);
    const pd = await s.allocPd(DEVICE);
    // A daemon-allocated MR, mapped here.
    const mr = await s.regMr(pd, 8192, ['LOCAL_WRITE']);
    const m = await s.mapMr(mr);
    m.memory.write(100, Buffer.from('mapped'));
    expect((await s.readMr(mr, 100, 6)).toString()).toBe('mapped');
    // A shared MR is an ordinary object of the session.
    const sm = await s.regSharedMr(pd, 4096, ['LOCAL_WRITE'], { userHandle: 99 });
    expect(sm.mr.type).toBe('mr');
    expect(sm.mr.userHandle).toBe('99');
    await s.writeMr(sm.mr, 0, Buffer.from('from the daemon'));
    expect(sm.memory.read(0, 15).toString()).toBe('from the daemon');
    // The async-event fd is there (and quiet).
    const ae = await s.asyncEvents();
    expect(await ae.next(50)).toEqual([]);
    ae.close();
    // A second connection of the same session, with a fresh token.
    const t = await s.issueFdToken();
    expect(t.fdSocket).toBe(d.fdSocket);
    m.close();
    sm.close();
    await s.close();
    await waitFor(() => d.fdCount() === baseline + 1, 3000, 'the daemon\'s fd count (plus this client\'s gRPC connection)');
  });
});
