/** `rdmactl top`'s terminal loop against stand-in streams: alternate screen, frames drawn over each other (no clear), q quits, a dead stream fails. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AsyncQueue, type Client, type ObjectChange } from '../../../src/client/index.js';
import { top, TopEnded, type TopTerminal } from '../../../src/cli/top.js';

function fakeClient(): { c: Client; changes: AsyncQueue<ObjectChange> } {
  const changes = new AsyncQueue<ObjectChange>(() => changes.end());
  const c = {
    watchObjects: () => changes,
    accounting: () => Promise.resolve([]),
    listSessions: () => Promise.resolve([]),
  } as unknown as Client;
  return { c, changes };
}

function fakeTerminal(): TopTerminal & { out: string; key(s: string): void; resize(cols: number, rows: number): void } {
  const output = Object.assign(new EventEmitter(), { isTTY: true, columns: 80, rows: 24, write: (s: string) => (t.out += s) });
  const input = Object.assign(new EventEmitter(), { isTTY: true, raw: false, setRawMode(r: boolean) { input.raw = r; }, resume() {}, pause() {} });
  const t = {
    out: '', output, input,
    key: (s: string) => input.emit('data', Buffer.from(s)),
    resize: (cols: number, rows: number) => {
      output.columns = cols;
      output.rows = rows;
      output.emit('resize');
    },
  };
  return t as unknown as TopTerminal & { out: string; key(s: string): void; resize(cols: number, rows: number): void };
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('top on a terminal', () => {
  it('draws in the alternate screen from the home position, redraws on resize, and restores the screen on q', async () => {
    const { c, changes } = fakeClient();
    const t = fakeTerminal();
    const run = top(c, t, { intervalMs: 50, target: '/tmp/rb.sock' });
    changes.push({ kind: 'CREATED', object: { handle: 1, type: 'pd', device: 'sim0', session: 's-1', tenant: 'default', userHandle: '0', parents: [], createdUnixMs: 0, attrs: {} } });
    changes.push({ kind: 'SYNCED', object: null });
    await until(() => t.out.includes('objects 1'));
    expect(t.out.startsWith('\x1b[?1049h\x1b[?25l\x1b[H')).toBe(true);
    t.resize(50, 10);
    await until(() => t.out.includes('50x10'));
    // Every frame overwrites the last one in place: no clear of the whole screen.
    expect(t.out).not.toContain('\x1b[2J');
    const frames = t.out.split('\x1b[H').slice(1);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.endsWith('\x1b[J') || f.endsWith('\x1b[J\x1b[?25h\x1b[?1049l')).toBe(true);
    t.key('q');
    await run;
    expect(t.out.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    expect((t.input as unknown as { raw: boolean }).raw).toBe(false);
  });

  it('fails with TopEnded, the screen restored, when the watch stream breaks', async () => {
    const { c, changes } = fakeClient();
    const t = fakeTerminal();
    const run = top(c, t, { intervalMs: 50, target: '/tmp/rb.sock' });
    changes.fail(new Error('UNAVAILABLE: connection dropped'));
    await expect(run).rejects.toThrow(TopEnded);
    await expect(run).rejects.toThrow('top: the daemon at /tmp/rb.sock went away (UNAVAILABLE: connection dropped)');
    expect(t.out.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
  });
});
