/**
 * GID text, as the wire and the backend interface write it: 8 groups of 4
 * lowercase hex digits. Shared by the core's attribute validation and both
 * backends, so there is one parser of GID notation.
 */

/**
 * Normalizes a GID written as 8 full groups or in "::"-compressed IPv6
 * notation to the full lowercase form; null when it is not a GID.
 */
export function normalizeGid(text: string): string | null {
  // Most GIDs come as the backends and the daemon write them: already in the full form, nothing to build.
  if (isFullGid(text)) return text;
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

/** Whether `s` is 8 groups of 4 lowercase hex digits, colon-separated (the form {@link normalizeGid} returns). */
function isFullGid(s: string): boolean {
  if (s.length !== 39) return false;
  for (let i = 0; i < 39; i++) {
    const c = s.charCodeAt(i);
    if (i % 5 === 4) {
      if (c !== 58 /* : */) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
      return false;
    }
  }
  return true;
}

/** True for a multicast GID (ff00::/8). */
export function isMulticastGid(full: string): boolean {
  return full.startsWith('ff');
}
