/**
 * Errors from the device: errno values as the kernel's, and the error every
 * backend call fails with.
 */
/** An error from the device: errno semantics as the kernel's. */
export class VerbsError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? `${call}: ${errnoName(errno)}`);
    this.name = 'VerbsError';
  }
}

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  /** No data: e.g. an sgid_index whose GID table entry is empty (rdma_fill_sgid_attr). */
  ENODATA: 61,
  EOPNOTSUPP: 95,
  /** No route to the destination: an address vector resolved while the port is down. */
  ENETUNREACH: 101,
  ETIMEDOUT: 110,
} as const;

const errnoNames = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * A failed post verb reports which WR failed (like *bad_wr): `badIndex`, or
 * -1 when the device left *bad_wr unset (rxe, when the kernel refuses the
 * doorbell of a QP before RTS, or for an empty list).
 */
export class PostError extends VerbsError {
  constructor(call: string, errno: number, readonly badIndex: number, message?: string) {
    super(call, errno, message);
    this.name = 'PostError';
  }
}
