/**
 * Request ids the gateway makes up: UUIDv7 (RFC 9562), i.e. a millisecond
 * timestamp then random bits. They are as unique as UUIDv4 ids, and they
 * sort by time, which keeps the request log's primary-key index append-only:
 * a random id lands on a random page of that index, and the measured insert
 * cost per log row halves with time-ordered ids (bench/README.md).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-7
 */
import { randomFillSync } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
/** Random bytes drawn in bulk (as crypto.randomUUID does), 10 per id. */
const IDS_PER_POOL = 512;
const POOL = Buffer.alloc(10 * IDS_PER_POOL);
/** The pool's random parts written out, `7xxx-yxxx-xxxxxxxxxxxx` (22 characters) per id, once per refill. */
const TAIL_LENGTH = 22;
let tails = '';
let next = IDS_PER_POOL;
/** The time part of the last millisecond asked for, with its dash: ids in the same millisecond share it. */
let lastNow = -1;
let lastTime = '';

function refill(): void {
  randomFillSync(POOL);
  const parts: string[] = [];
  for (let r = 0; r < POOL.length; r += 10) {
    const p = POOL;
    // The version (7) and variant (10) bits over the random ones.
    parts.push(`${HEX[0x70 | (p[r] & 0x0f)]}${HEX[p[r + 1]]}-${HEX[0x80 | (p[r + 2] & 0x3f)]}${HEX[p[r + 3]]}-${HEX[p[r + 4]]}${HEX[p[r + 5]]}${HEX[p[r + 6]]}${HEX[p[r + 7]]}${HEX[p[r + 8]]}${HEX[p[r + 9]]}`);
  }
  // One flat string: each id takes a slice of it (no copy), then one concatenation with its time.
  tails = parts.join('');
  next = 0;
}

/** `xxxxxxxx-xxxx-` for the 48-bit big-endian millisecond timestamp. */
function timePart(now: number): string {
  const high = Math.floor(now / 0x1000000); // top 24 bits
  const low = now % 0x1000000; // bottom 24 bits
  return HEX[(high >>> 16) & 0xff] + HEX[(high >>> 8) & 0xff] + HEX[high & 0xff] + HEX[(low >>> 16) & 0xff] + '-' + HEX[(low >>> 8) & 0xff] + HEX[low & 0xff] + '-';
}

/**
 * A new id; the string is built from two pieces (the millisecond's time part and a slice of the
 * pool's written-out random parts), where one built per id took seventeen (a profile showed it).
 */
export function uuidv7(now: number = Date.now()): string {
  if (next === IDS_PER_POOL) refill();
  const at = next * TAIL_LENGTH;
  next++;
  if (now !== lastNow) {
    lastNow = now;
    lastTime = timePart(now);
  }
  return lastTime + tails.slice(at, at + TAIL_LENGTH);
}
