/**
 * A session's link to the daemon's fd channel: connected on first use with
 * the token SessionOpened carried (or a fresh one from IssueFdToken once that
 * expired), reconnected after the connection closed, closed with the session.
 */
import { FdChannel, FdChannelError } from './fd-channel.js';

/** @internal */
export class FdLink {
  private fdc: Promise<FdChannel> | null = null;

  constructor(
    /** The fd socket and one-time token SessionOpened gave ('' when none). */
    private socket: string,
    private token: string,
    /** A fresh token for one more connection (SessionService.IssueFdToken). */
    private readonly issue: () => Promise<{ token: string; fdSocket: string }>,
  ) {}

  /** Takes the socket and token of a (re)opened session. */
  reset(socket: string, token: string): void {
    this.socket = socket;
    this.token = token;
  }

  channel(): Promise<FdChannel> {
    const cur = this.fdc;
    if (cur) {
      return cur.then((c) => {
        if (!c.closed) return c;
        if (this.fdc === cur) this.fdc = null;
        return this.channel();
      });
    }
    const p = (async () => {
      const token = this.token;
      const socket = this.socket;
      this.token = '';
      const fresh = async (): Promise<FdChannel> => {
        const t = await this.issue();
        return FdChannel.connect(t.fdSocket, t.token);
      };
      if (!token || !socket) return fresh();
      try {
        return await FdChannel.connect(socket, token);
      } catch (e) {
        // The token SessionOpened carried expires (a minute) if unused: a
        // first use later than that asks the session for a new one.
        if (e instanceof FdChannelError && e.rdmaError === 'NO_SESSION') return fresh();
        throw e;
      }
    })();
    this.fdc = p;
    p.catch(() => {
      if (this.fdc === p) this.fdc = null;
    });
    return p;
  }

  /** Closes the connection, if any. */
  close(): void {
    const fdc = this.fdc;
    this.fdc = null;
    if (fdc) void fdc.then((c) => c.close(), () => {});
  }
}
