/**
 * Object handles: the n-th object the daemon creates gets
 * `1 + P(n)`, where P is a keyed permutation of the 52-bit numbers (a
 * four-round Feistel network whose round function is AES-128 under a random
 * key drawn at start: one reused ECB context, about a microsecond a round,
 * where an HMAC object per round cost tens). So a handle
 * - is never reused while the daemon runs (P is a bijection, n only grows),
 * - is nonzero and at most 2^52, a safe integer as JSON and protobuf carry it,
 * - says nothing about how many objects anyone else created, and cannot be
 *   guessed from the caller's own handles (four Feistel rounds over a
 *   pseudo-random function are a pseudo-random permutation), and
 * - decodes back to n, so creation order survives for listings (a listing
 *   cursor may name an object destroyed since).
 * A handle from an earlier run (another key) names a live object here only
 * by chance (one in 2^52 per object).
 *
 * The registry takes handles in runs ({@link HandleCipher.handlesFrom}):
 * each Feistel round of a run is one AES call over all its blocks, since
 * the call into OpenSSL, not the block, is what costs (four calls a handle
 * were a fifth of a PD create's CPU). The values are the same as one at a
 * time.
 */
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';

const HALF_BITS = 26;
const HALF = 2 ** HALF_BITS;
const MASK = HALF - 1;
const ROUNDS = 4;
/** The most handles {@link HandleCipher.handlesFrom} computes at once (64 KiB of blocks). */
const MAX_RUN = 4096;

/** Handles are 1 .. HANDLE_SPACE. */
export const HANDLE_SPACE = 2 ** (2 * HALF_BITS);

export class HandleCipher {
  private readonly aes: Cipher;
  private readonly block = Buffer.alloc(16);

  /** `key`: 16 bytes (tests pass a fixed one); default random. */
  constructor(key: Buffer = randomBytes(16)) {
    if (key.length !== 16) throw new RangeError('a handle key is 16 bytes');
    // ECB without padding: each 16-byte update is one block in, one block out.
    this.aes = createCipheriv('aes-128-ecb', key, null);
    this.aes.setAutoPadding(false);
  }

  private round(i: number, half: number): number {
    this.block.writeUInt8(i, 0);
    this.block.writeUInt32BE(half, 1);
    return this.aes.update(this.block).readUInt32BE(0) & MASK;
  }

  /** The handle of the `seq`-th object (0-based). */
  handleOf(seq: number): number {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= HANDLE_SPACE) throw new RangeError(`handle sequence ${seq} out of range`);
    let l = Math.floor(seq / HALF);
    let r = seq % HALF;
    for (let i = 0; i < ROUNDS; i++) {
      const next = (l ^ this.round(i, r)) >>> 0;
      l = r;
      r = next;
    }
    return l * HALF + r + 1;
  }

  /**
   * The handles of objects `seq` .. `seq + count - 1`, as {@link handleOf}
   * gives them one by one: each round is one cipher call over `count` blocks.
   */
  handlesFrom(seq: number, count: number): number[] {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_RUN) throw new RangeError(`handle run of ${count} out of range`);
    if (!Number.isSafeInteger(seq) || seq < 0 || seq + count > HANDLE_SPACE) throw new RangeError(`handle sequence ${seq} out of range`);
    const l = new Uint32Array(count);
    const r = new Uint32Array(count);
    for (let j = 0; j < count; j++) {
      l[j] = Math.floor((seq + j) / HALF);
      r[j] = (seq + j) % HALF;
    }
    // The same blocks as round() writes (round number, then the half big-endian, then zeros),
    // by indexed stores: the Buffer methods' range checks cost more than the bytes.
    const blocks = Buffer.alloc(16 * count);
    for (let i = 0; i < ROUNDS; i++) {
      for (let j = 0, o = 0; j < count; j++, o += 16) {
        const v = r[j]!;
        blocks[o] = i;
        blocks[o + 1] = v >>> 24;
        blocks[o + 2] = (v >>> 16) & 0xff;
        blocks[o + 3] = (v >>> 8) & 0xff;
        blocks[o + 4] = v & 0xff;
      }
      const f = this.aes.update(blocks);
      for (let j = 0, o = 0; j < count; j++, o += 16) {
        const out = ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) & MASK;
        const next = (l[j]! ^ out) >>> 0;
        l[j] = r[j]!;
        r[j] = next;
      }
    }
    const out: number[] = new Array<number>(count);
    for (let j = 0; j < count; j++) out[j] = l[j]! * HALF + r[j]! + 1;
    return out;
  }

  /** The creation sequence number a handle stands for; null for a number that is no handle. */
  seqOf(handle: number): number | null {
    if (!Number.isSafeInteger(handle) || handle < 1 || handle > HANDLE_SPACE) return null;
    const v = handle - 1;
    let l = Math.floor(v / HALF);
    let r = v % HALF;
    for (let i = ROUNDS - 1; i >= 0; i--) {
      const prev = (r ^ this.round(i, l)) >>> 0;
      r = l;
      l = prev;
    }
    return l * HALF + r;
  }
}
