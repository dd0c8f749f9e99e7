import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { coalescingDestination, type LineSink } from '../../../src/daemon/logdest.js';

class Sink implements LineSink {
  writes: string[] = [];
  flushed = 0;
  synced = 0;
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  flush(cb?: (err?: Error) => void): void {
    this.flushed++;
    cb?.();
  }
  flushSync(): void {
    this.synced++;
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('coalescing log destination', () => {
  it('hands one turn\'s lines to the sink as one write, in order, at the end of the turn', async () => {
    const sink = new Sink();
    const d = coalescingDestination(sink, { flushOnExit: false });
    const log = pino({ base: null, timestamp: false }, d);
    for (let i = 0; i < 50; i++) log.info({ i }, 'audit');
    expect(sink.writes).toEqual([]);
    await turn();
    expect(sink.writes).toHaveLength(1);
    const lines = sink.writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as { i: number; msg: string });
    expect(lines.map((l) => l.i)).toEqual([...Array(50).keys()]);
    expect(lines.every((l) => l.msg === 'audit')).toBe(true);
    log.info({ i: 50 }, 'next');
    await turn();
    expect(sink.writes).toHaveLength(2);
    expect(JSON.parse(sink.writes[1]!).i).toBe(50);
  });

  it('hands a long turn over in chunks, losing and reordering nothing', async () => {
    const sink = new Sink();
    const d = coalescingDestination(sink, { flushOnExit: false, chunkChars: 100 });
    for (let i = 0; i < 20; i++) d.write(`${'x'.repeat(30)} ${i}\n`);
    expect(sink.writes.length).toBeGreaterThan(1);
    await turn();
    const all = sink.writes.join('').trimEnd().split('\n').map((l) => Number(l.split(' ')[1]));
    expect(all).toEqual([...Array(20).keys()]);
  });

  it('flush and flushSync hand pending lines over first', async () => {
    const sink = new Sink();
    const d = coalescingDestination(sink, { flushOnExit: false });
    d.write('a\n');
    await new Promise<void>((r) => d.flush(() => r()));
    expect(sink.writes).toEqual(['a\n']);
    expect(sink.flushed).toBe(1);
    d.write('b\n');
    d.flushSync();
    expect(sink.writes).toEqual(['a\n', 'b\n']);
    expect(sink.synced).toBe(1);
    await turn();
    expect(sink.writes).toHaveLength(2);
  });

  it('writes the pending lines when the process exits in the middle of a turn', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logdest-'));
    const file = path.join(dir, 'out.log');
    // The built module (npm test builds first).
    const mod = path.resolve('dist/daemon/logdest.js');
    const script = `
      import pino from 'pino';
      import { coalescingDestination } from ${JSON.stringify(mod)};
      const log = pino({ base: null }, coalescingDestination(pino.destination({ dest: ${JSON.stringify(file)}, sync: false })));
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 100; i++) log.info({ i }, 'audit');
      process.exit(3);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(3);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(100).keys()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
