/**
 * How long the daemon's own event loop has been held up. A lease must count
 * only time in which the daemon could have read the client's keepalive: when
 * the loop was stalled (a long verb, a big decode, a slow disk for the log),
 * keepalives sit unread in the socket, and expiring the session then would
 * punish the client for the daemon's stall. The session table asks this
 * meter, when a lease runs out, how much stall happened since the last
 * keepalive, and extends the lease by that much.
 */
import { performance } from 'node:perf_hooks';

export class LoopStallMeter {
  private last = performance.now();
  private total = 0;
  private timer: NodeJS.Timeout | null;

  /**
   * @param intervalMs how often the meter ticks
   * @param toleranceMs lateness of a tick that is load, not a stall
   */
  constructor(private readonly intervalMs = 100, private readonly toleranceMs = 50) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private late(now: number): number {
    const late = now - this.last - this.intervalMs;
    return late > this.toleranceMs ? late : 0;
  }

  private tick(): void {
    const now = performance.now();
    this.total += this.late(now);
    this.last = now;
  }

  /** Milliseconds of stall since the meter started, including one that is just ending (the caller runs late). */
  stalledMs(): number {
    return this.total + this.late(performance.now());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
