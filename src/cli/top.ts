/**
 * `rdmactl top`: a live view of the daemon's sessions and tenants, redrawn
 * from its WatchObjects stream (object counts per type, registered bytes)
 * and from GetAccounting and ListSessions every interval (verbs per second,
 * the tenants' registered bytes, session names and states).
 *
 * On a terminal it draws in the alternate screen, every frame from the
 * cursor's home position over the last one, each line cleared to its end
 * and the rest of the screen below it (no full clear, so no flicker); it
 * redraws on resize, quits on q (or Ctrl-C) and restores the screen. Not on
 * a terminal (a pipe), it prints one frame once the data is in and exits.
 * When the daemon goes away it restores the screen and fails with one line.
 */
import type { Client } from '../client/index.js';
import { TopModel } from './top-view.js';

/** The terminal `top` draws on: process.stdout and process.stdin, or stand-ins in tests. */
export interface TopTerminal {
  output: {
    isTTY?: boolean;
    columns?: number;
    rows?: number;
    write(s: string): unknown;
    on(ev: 'resize', f: () => void): unknown;
    off(ev: 'resize', f: () => void): unknown;
  };
  input: {
    isTTY?: boolean;
    setRawMode?(raw: boolean): unknown;
    on(ev: 'data', f: (b: Buffer) => void): unknown;
    off(ev: 'data', f: (b: Buffer) => void): unknown;
    resume(): unknown;
    pause(): unknown;
  };
}

/** The daemon went away (or refused a refresh): top restores the screen and rdmactl exits 1 with this line. */
export class TopEnded extends Error {}

const ALT_ON = '\x1b[?1049h\x1b[?25l'; // alternate screen, cursor hidden
const ALT_OFF = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const EOL = '\x1b[K';
const EOS = '\x1b[J';

export interface TopOptions {
  /** Between refreshes of accounting and sessions (ms). */
  intervalMs: number;
  /** What the header names: the socket or HOST:PORT. */
  target: string;
}

export async function top(c: Client, term: TopTerminal, o: TopOptions): Promise<void> {
  const m = new TopModel();
  const tty = term.output.isTTY === true;
  const watch = c.watchObjects({}, { initial: true });
  let done = false;
  let fail: ((e: Error) => void) | null = null;
  let quit: (() => void) | null = null;
  const ended = new Promise<void>((resolve, reject) => {
    quit = resolve;
    fail = reject;
  });
  const stop = (e?: Error): void => {
    if (done) return;
    done = true;
    if (e) fail!(e);
    else quit!();
  };
  const away = (e: unknown): void => stop(new TopEnded(`top: the daemon at ${o.target} went away (${(e as Error)?.message ?? 'daemon closed the stream'})`));

  // The object table, as the watch streams it; a stream that ends without us is the daemon going away.
  let dirty = true;
  void (async () => {
    try {
      for await (const ch of watch) {
        m.apply(ch);
        dirty = true;
      }
      away(new Error('daemon closed the stream'));
    } catch (e) {
      away(e);
    }
  })();

  const size = (): { width: number; height: number } => ({
    width: term.output.columns || Number(process.env.COLUMNS) || 120,
    height: tty ? term.output.rows || 24 : Number.MAX_SAFE_INTEGER,
  });
  const draw = (): void => {
    if (done) return;
    dirty = false;
    const { width, height } = size();
    const lines = m.render({ width, height, now: Date.now(), target: o.target });
    // Erase-to-end only after a line shorter than the screen: after a full one the cursor waits at the last
    // column, and erasing there would take the last character.
    term.output.write(`${HOME}${lines.map((l) => (l.length < width ? `${l}${EOL}` : l)).join('\r\n')}${EOS}`);
  };

  let refreshing = false;
  let refreshed = false;
  const refresh = async (): Promise<void> => {
    if (refreshing || done) return;
    refreshing = true;
    try {
      const [acct, sessions] = await Promise.all([c.accounting(), c.listSessions()]);
      m.setAccounting(acct, Date.now());
      m.sessions = sessions;
      refreshed = true;
      dirty = true;
    } catch (e) {
      away(e);
    } finally {
      refreshing = false;
    }
  };

  if (!tty) {
    // One frame, once the initial listing and a first refresh are in.
    await refresh();
    const wait = setInterval(() => {
      if (m.synced && refreshed) stop();
    }, 20);
    try {
      await ended;
    } finally {
      clearInterval(wait);
      watch.cancel();
    }
    const lines = m.render({ ...size(), now: Date.now(), target: o.target, live: false });
    term.output.write(`${lines.join('\n')}\n`);
    return;
  }

  const onKey = (b: Buffer): void => {
    // q, Q, Ctrl-C (raw mode turns it into a byte, not a signal), Ctrl-D.
    if (b.includes(0x71) || b.includes(0x51) || b.includes(0x03) || b.includes(0x04)) stop();
  };
  const onResize = (): void => draw();
  const onSignal = (): void => stop();
  term.output.write(ALT_ON);
  term.input.setRawMode?.(true);
  term.input.on('data', onKey);
  term.input.resume();
  term.output.on('resize', onResize);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timers = [
    setInterval(() => void refresh(), o.intervalMs),
    // Changes arrive in bursts (a session's cleanup): redraw at most ten times a second.
    setInterval(() => {
      if (dirty) draw();
    }, 100),
  ];
  void refresh();
  draw();
  try {
    await ended;
  } finally {
    for (const t of timers) clearInterval(t);
    watch.cancel();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    term.output.off('resize', onResize);
    term.input.off('data', onKey);
    term.input.setRawMode?.(false);
    term.input.pause();
    term.output.write(ALT_OFF);
  }
}
