/** The sim's GID derivation (rxe's, from a netdev MAC); GID text parsing lives in src/wire/gid.ts. */

/** The IPv6 link-local GID and EUI-64 node GUID that rxe derives from a netdev MAC. */
export function gidFromMac(mac: readonly number[]): { gid: string; guid: string } {
  const b = [(mac[0] ?? 0) ^ 0x02, mac[1] ?? 0, mac[2] ?? 0, 0xff, 0xfe, mac[3] ?? 0, mac[4] ?? 0, mac[5] ?? 0];
  const hex = (i: number): string => (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16).padStart(4, '0');
  const guid = `${hex(0)}:${hex(2)}:${hex(4)}:${hex(6)}`;
  return { gid: `fe80:0000:0000:0000:${guid}`, guid };
}
