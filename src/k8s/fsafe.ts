/**
 * Filesystem steps that must not be turned against the daemon. It runs as
 * root and the directories it hands to pods are writable by whatever runs in
 * them, so nothing here follows a symlink it did not make: directories are
 * made with mkdir and then checked with lstat, files are opened with
 * O_NOFOLLOW (and O_EXCL when new), trees are removed without following links.
 */
import fs from 'node:fs';
import path from 'node:path';

/** open(2) flag: a descriptor that names a file without opening it for I/O. */
const O_PATH = 0o10000000;

/** chmod through an O_PATH|O_NOFOLLOW descriptor: a symlink put in the path's place fails instead of being followed. */
export function chmodNoFollow(p: string, mode: number): void {
  const fd = fs.openSync(p, O_PATH | fs.constants.O_NOFOLLOW);
  try {
    fs.chmodSync(`/proc/self/fd/${fd}`, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/** Checks that `dir` is a real directory (not a symlink), owned by this process, writable by nobody else. */
export function checkOwnDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    throw new Error(`${dir}: ${(e as Error).message}`);
  }
  if (st.isSymbolicLink()) throw new Error(`${dir} is a symlink, not a directory; refusing to use it`);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory; refusing to use it`);
  const uid = process.getuid?.() ?? st.uid;
  if (st.uid !== uid) throw new Error(`${dir} is owned by uid ${st.uid}, not this daemon (uid ${uid}); refusing to use it`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}); refusing to use it`);
}

/**
 * Makes `dir` (and missing parents) unless it exists, then checks it as
 * {@link checkOwnDir} does and sets its mode. An existing directory of
 * someone else, or a symlink in its place, is an error, not something to fix.
 */
export function ensureOwnDir(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${dir}: ${(e as Error).message}`);
  }
  checkOwnDir(dir);
  chmodNoFollow(dir, mode);
}

/** Makes a new directory (anything already at the path is an error), checks it, sets its mode. */
export function freshDir(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { mode });
  } catch (e) {
    throw new Error(`cannot create ${dir}: ${(e as Error).message}`);
  }
  checkOwnDir(dir);
  chmodNoFollow(dir, mode);
}

/**
 * Replaces `file` with `data` in one step: a temporary file beside it
 * (O_CREAT|O_EXCL|O_NOFOLLOW), synced, renamed over the old one.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    if (fs.lstatSync(tmp).isFile()) fs.unlinkSync(tmp);
  } catch {
    // no leftover
  }
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Reads a regular file of at most `maxBytes` without following a symlink; null when it does not exist. */
export function readFileNoFollow(file: string, maxBytes: number): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error(`${file} is a symlink; refusing to read it`);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    if (st.size > maxBytes) throw new Error(`${file} is ${st.size} bytes (at most ${maxBytes})`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a file, a symlink (the link, never its target) or a directory tree; absent is fine. */
export function removeTree(p: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  // rm's recursion unlinks symlinks inside the tree without following them.
  if (st.isDirectory()) fs.rmSync(p, { recursive: true, force: true });
  else fs.unlinkSync(p);
}
