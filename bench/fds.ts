/**
 * fd passing round trip. The fd channel (SCM_RIGHTS over a unix socket) is
 * another piece of work; until it is in this tree, the benchmark says so
 * instead of printing a number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/procs.js';
import type { Results } from './report.js';

export async function fdsStatus(_socket: string): Promise<NonNullable<Results['fds']>> {
  const present = fs.existsSync(path.join(ROOT, 'src/fdpass'));
  if (!present) return { status: 'TODO: not measured — the fd channel (src/fdpass) is not in this tree yet' };
  return { status: 'TODO: not measured — the fd channel is present but the benchmark does not drive it yet' };
}
