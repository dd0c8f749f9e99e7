/**
 * One side of an A/B between two builds of this repo (bench/tools/*-ab.ts):
 * the daemon of the checkout at `dir` (its bin/rdma-brokerd.js, built),
 * started with the sim device and logging at info to a file (an audit record
 * per mutating verb, as in npm run bench), with a session open and the first
 * GID of sim0 read.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Conn, type Sess } from './client.js';
import { Child, sleep } from './procs.js';

export interface AbDaemon {
  name: string;
  daemon: Child;
  conn: Conn;
  s: Sess;
  gid: string;
}

export async function startAbDaemon(name: string, dir: string, tmp: string): Promise<AbDaemon> {
  const socket = path.join(tmp, `${name}.sock`);
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'w');
  const proc = spawn(process.execPath, [path.join(path.resolve(dir), 'bin/rdma-brokerd.js'), '--device', 'sim', '--socket', socket, '--log-level', 'info'], { stdio: ['ignore', log, 'pipe'] });
  fs.closeSync(log);
  const daemon = new Child(proc, socket);
  const end = Date.now() + 60_000;
  while (!fs.existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > end) throw new Error(`daemon ${name} did not start: ${daemon.lastStderr}`);
    await sleep(20);
  }
  const conn = new Conn(socket);
  await conn.ready();
  const s = await conn.openSession(`ab-${name}`);
  const gid = await new Promise<string>((resolve, reject) => conn.devices.Query({ device: 'sim0' }, (e, r) => (e || !r ? reject(e) : resolve(r.ports[0]?.gids[0]?.gid ?? ''))));
  return { name, daemon, conn, s, gid };
}
