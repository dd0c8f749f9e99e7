import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { coalescingDestination, fdSink, fileSink, logDestination, type LineSink } from '../../../src/daemon/logdest.js';

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

describe('the daemon\'s log sinks', () => {
  const tmpFile = (): { dir: string; file: string } => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logsink-'));
    return { dir, file: path.join(dir, 'out.log') };
  };

  it('writes a regular file synchronously, byte for byte what pino writes through sonic-boom', async () => {
    const { dir, file } = tmpFile();
    const ref = path.join(dir, 'ref.log');
    const fd = fs.openSync(file, 'w');
    const refDest = pino.destination({ dest: ref, sync: true });
    const opts = { base: { pid: 1 }, timestamp: () => ',"time":1' };
    const log = pino(opts, logDestination(fd, { flushOnExit: false }));
    const refLog = pino(opts, refDest);
    // ASCII, multi-byte UTF-8, a character outside the BMP, and a lone surrogate (written as U+FFFD by both).
    const names = ['pd', 'é☃', '\u{1F600}x', 'a\ud800b', 'x'.repeat(300)];
    for (let i = 0; i < 2000; i++) {
      log.info({ i, name: names[i % names.length] }, 'audit');
      refLog.info({ i, name: names[i % names.length] }, 'audit');
    }
    await turn();
    refDest.flushSync();
    expect(fs.readFileSync(file).equals(fs.readFileSync(ref))).toBe(true);
    expect(fs.readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(2000);
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('picks the file sink for a regular file only', () => {
    const { dir, file } = tmpFile();
    const fd = fs.openSync(file, 'w');
    const sink = fdSink(fd);
    // The file sink has written each string by the time write returns.
    sink.write('one\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('one\n');
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('throws a write error (a closed fd), as sonic-boom does without an error listener', () => {
    const { dir, file } = tmpFile();
    const fd = fs.openSync(file, 'w');
    const sink = fileSink(fd);
    fs.closeSync(fd);
    expect(() => sink.write('x\n')).toThrow(/EBADF/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a file\'s pending lines when the process exits in the middle of a turn', () => {
    const { dir, file } = tmpFile();
    const mod = path.resolve('dist/daemon/logdest.js');
    const script = `
      import fs from 'node:fs';
      import pino from 'pino';
      import { logDestination } from ${JSON.stringify(mod)};
      const log = pino({ base: null }, logDestination(fs.openSync(${JSON.stringify(file)}, 'w')));
      for (let i = 0; i < 100; i++) log.info({ i }, 'audit');
      process.exit(3);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(3);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(100).keys()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never blocks the event loop on a pipe whose reader does not read', async () => {
    const mod = path.resolve('dist/daemon/logdest.js');
    // 8 MiB of lines into a stdout pipe nobody reads (the kernel holds 64 KiB): a
    // synchronous write would stall the child's loop before the turn after it.
    const script = `
      import fs from 'node:fs';
      import pino from 'pino';
      import { logDestination } from ${JSON.stringify(mod)};
      const log = pino({ base: null }, logDestination(1, { flushOnExit: false }));
      const pad = 'x'.repeat(1000);
      for (let i = 0; i < 8192; i++) log.info({ i, pad }, 'audit');
      setImmediate(() => setImmediate(() => fs.writeSync(2, 'alive\\n')));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Stop the parent's side reading too, so the pipe stays full.
    child.stdout.pause();
    try {
      const said = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (b: Buffer) => {
          err += b.toString();
          if (err.includes('alive')) resolve(err);
        });
        child.once('exit', (code) => reject(new Error(`child exited (${code}) before its loop went on: ${err}`)));
        // A bound, so a stalled child is killed below rather than left behind by the test's timeout.
        setTimeout(() => reject(new Error(`the child's loop did not go on within 15 s: ${err}`)), 15_000).unref();
      });
      expect(said).toContain('alive');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
