/**
 * Canonical text of IPv4 and IPv6 addresses, shared by the netlink decoder and the /proc/net parser.
 *
 * Both sources hand over addresses as 32-bit words in network order (the first octet in the most
 * significant byte). IPv4 text is the dotted quad; IPv6 text follows RFC 5952 (lower-case hex, the
 * longest run of two or more zero groups compressed to `::`, the first one on a tie) and writes an
 * IPv4-mapped address as `::ffff:a.b.c.d`.
 *
 * Texts of IPv4 addresses are cached: a host sees few distinct addresses, so the hot path of a poll
 * builds no address strings at all for IPv4 and for the common IPv6 forms (`::`, `::1`, mapped).
 *
 * @module
 */

/** Upper bound on cached IPv4 texts; the cache is emptied when it grows beyond this. */
export const IPV4_TEXT_CACHE_LIMIT = 65_536;

const ipv4TextCache = new Map<number, string>();

/**
 * Dotted-quad text of an IPv4 address.
 * @param networkOrderValue the address as an unsigned 32-bit value, first octet most significant.
 */
export function ipv4Text(networkOrderValue: number): string {
  let text = ipv4TextCache.get(networkOrderValue);
  if (text === undefined) {
    text = `${networkOrderValue >>> 24}.${(networkOrderValue >>> 16) & 0xff}.${
      (networkOrderValue >>> 8) & 0xff
    }.${networkOrderValue & 0xff}`;
    if (ipv4TextCache.size >= IPV4_TEXT_CACHE_LIMIT) ipv4TextCache.clear();
    ipv4TextCache.set(networkOrderValue, text);
  }
  return text;
}

/** Scratch space for the eight 16-bit groups of the address being formatted. */
const groups = new Uint16Array(8);

/**
 * RFC 5952 text of an IPv6 address given as four 32-bit words, each in network order.
 * @param word0 bytes 0..3 of the address (first byte most significant), and so on.
 */
export function ipv6Text(word0: number, word1: number, word2: number, word3: number): string {
  if (word0 === 0 && word1 === 0) {
    if (word2 === 0) {
      if (word3 === 0) return "::";
      if (word3 === 1) return "::1";
    } else if (word2 === 0xffff) {
      return `::ffff:${ipv4Text(word3 >>> 0)}`;
    }
  }
  groups[0] = word0 >>> 16;
  groups[1] = word0 & 0xffff;
  groups[2] = word1 >>> 16;
  groups[3] = word1 & 0xffff;
  groups[4] = word2 >>> 16;
  groups[5] = word2 & 0xffff;
  groups[6] = word3 >>> 16;
  groups[7] = word3 & 0xffff;

  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }

  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLength - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLength) text += ":";
    text += groups[i].toString(16);
  }
  return text;
}

/** Reverses the byte order of an unsigned 32-bit value (little-endian word ↔ network order). */
export function swapBytes32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
}

/** The network-order value of a dotted-quad IPv4 text; undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/**
 * The four network-order words of an IPv6 text (any RFC 4291 form, `::` and a trailing dotted quad
 * included), written to `into`; false (and `into` left undefined) when it is not one.
 */
export function parseIpv6(text: string, into: Uint32Array): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (!head || !tail) return false;
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return false;
  const all = [...head, ...new Array(zeros).fill(0), ...tail];
  for (let i = 0; i < 4; i++) into[i] = ((all[2 * i] << 16) | all[2 * i + 1]) >>> 0;
  return true;
}
