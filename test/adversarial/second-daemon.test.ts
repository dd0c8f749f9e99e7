/**
 * A second daemon on a live socket (issue 9, point 7): it must refuse to
 * start ("socket in use by a running daemon: PATH", exit 1) for the main
 * socket, the fd-channel socket and a tenant socket, remove nothing on its
 * way out, and leave the first daemon serving. A stale socket (its daemon
 * killed) is replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { connectPacket } from '../../src/sys/packet-socket.js';
import { claimSocketPath, probeSocket, SocketInUseError } from '../../src/daemon/paths.js';
import { DAEMON_BIN, runNode, spawnDaemon, tempSocket, type Daemon } from '../integration/helpers.js';

/** What is left of a path: 'socket', 'missing' or something else. */
function kind(p: string): string {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  return !st ? 'missing' : st.isSocket() ? 'socket' : 'other';
}

async function firstServes(d: Daemon, tenantSocket: string): Promise<void> {
  for (const socket of [d.socket, tenantSocket]) {
    const c = await connect({ socket });
    try {
      expect((await c.devices()).map((x) => x.name)).toEqual(['sim0']);
    } finally {
      c.close();
    }
  }
  const p = await connectPacket(`${d.socket}.fd`, 2000);
  p.close('probe');
}

describe('a second daemon on live sockets', () => {
  let first: Daemon;
  let cfg: string;
  let tenantSock: string;

  beforeAll(async () => {
    const { dir } = tempSocket('second');
    cfg = path.join(dir, 'config.json');
    tenantSock = path.join(dir, 'team-a', 'broker.sock');
    fs.writeFileSync(cfg, JSON.stringify({ tenants: [{ name: 'ops', role: 'admin' }, { name: 'team-a', socket: tenantSock }], socket_tenant: 'ops' }));
    first = await spawnDaemon('second', ['--config', cfg], { dir });
  });
  afterAll(async () => {
    await first.stop();
  });

  const other = (name: string): string => path.join(first.dir, name);

  it.each([
    ['the main socket', (): string[] => ['--socket', first.socket, '--fd-socket', other('b.fd')], (): string => first.socket],
    ['the fd-channel socket', (): string[] => ['--socket', other('b.sock'), '--fd-socket', `${first.socket}.fd`], (): string => `${first.socket}.fd`],
    ['a tenant socket', (): string[] => ['--socket', other('c.sock'), '--fd-socket', other('c.fd'), '--config', cfg], (): string => tenantSock],
  ])('on %s: exit 1 naming the socket, nothing removed, the first keeps serving', async (_what, args, busy) => {
    const before = fs.readdirSync(first.dir).sort();
    const r = await runNode([DAEMON_BIN, '--device', 'sim', ...args()], 15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`socket in use by a running daemon: ${busy()}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    // Everything the first daemon serves is still there, and the second left nothing of its own.
    expect(fs.readdirSync(first.dir).sort()).toEqual(before);
    for (const p of [first.socket, `${first.socket}.fd`, tenantSock, `${tenantSock}.fd`]) expect(kind(p)).toBe('socket');
    await firstServes(first, tenantSock);
    expect(first.proc.exitCode).toBeNull();
  });

  it('probeSocket tells live (either socket type) from stale and absent; claimSocketPath refuses the live one', async () => {
    expect(await probeSocket(first.socket)).toBe('live');
    expect(await probeSocket(`${first.socket}.fd`)).toBe('live');
    expect(await probeSocket(other('nothing.sock'))).toBe('absent');
    expect(await probeSocket(cfg)).toBe('not-a-socket');
    await expect(claimSocketPath(first.socket)).rejects.toBeInstanceOf(SocketInUseError);
    await expect(claimSocketPath(cfg)).rejects.toThrow(/exists and is not a socket/);
    expect(kind(cfg)).toBe('other');
  });
});

describe('a stale socket', () => {
  it('is replaced: a daemon killed with SIGKILL leaves its sockets, the next one starts on them', async () => {
    const a = await spawnDaemon('stale2');
    a.proc.kill('SIGKILL');
    await a.exited;
    expect(kind(a.socket)).toBe('socket');
    expect(await probeSocket(a.socket)).toBe('stale');
    expect(await probeSocket(`${a.socket}.fd`)).toBe('stale');
    const b = await spawnDaemon('stale2', [], { dir: a.dir });
    try {
      const c = await connect({ socket: b.socket });
      expect((await c.devices()).length).toBe(1);
      c.close();
      const p = await connectPacket(`${b.socket}.fd`, 2000);
      p.close('probe');
    } finally {
      await b.stop();
    }
  });
});
