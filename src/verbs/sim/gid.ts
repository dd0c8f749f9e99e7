/** GID text helpers: the backend interface writes GIDs as 8 groups of 4 hex digits. */

/**
 * Normalizes a GID written as 8 full groups or in "::"-compressed IPv6
 * notation to the full lowercase form; null when it is not a GID.
 */
export function normalizeGid(text: string): string | null {
  const s = text.trim().toLowerCase();
  if (!/^[0-9a-f:]+$/.test(s)) return null;
  let groups: string[];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    const head = s.slice(0, dbl) === '' ? [] : s.slice(0, dbl).split(':');
    const tail = s.slice(dbl + 2) === '' ? [] : s.slice(dbl + 2).split(':');
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  } else {
    groups = s.split(':');
  }
  if (groups.length !== 8) return null;
  for (const g of groups) if (g.length < 1 || g.length > 4) return null;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/** True for a multicast GID (ff00::/8). */
export function isMulticastGid(full: string): boolean {
  return full.startsWith('ff');
}

/** The IPv6 link-local GID and EUI-64 node GUID that rxe derives from a netdev MAC. */
export function gidFromMac(mac: readonly number[]): { gid: string; guid: string } {
  const b = [(mac[0] ?? 0) ^ 0x02, mac[1] ?? 0, mac[2] ?? 0, 0xff, 0xfe, mac[3] ?? 0, mac[4] ?? 0, mac[5] ?? 0];
  const hex = (i: number): string => (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16).padStart(4, '0');
  const guid = `${hex(0)}:${hex(2)}:${hex(4)}:${hex(6)}`;
  return { gid: `fe80:0000:0000:0000:${guid}`, guid };
}
