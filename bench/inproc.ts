/** Runs inproc-child.js with --expose-gc and returns its measurements. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BUILD } from './lib/procs.js';
import type { HeapRow } from './report.js';

export interface InprocResult {
  cleanup: { objects: number; ms: number }[];
  heap: HeapRow[];
}

export function runInprocChild(cleanupSizes: number[], heapN: number): Promise<InprocResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', path.join(BUILD, 'bench/inproc-child.js'), cleanupSizes.join(','), String(heapN)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code !== 0) return reject(new Error(`inproc-child exited with ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out) as InprocResult);
      } catch (e) {
        reject(e);
      }
    });
  });
}
