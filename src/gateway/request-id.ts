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
const POOL = Buffer.alloc(10 * 512);
let poolAt = POOL.length;

export function uuidv7(now: number = Date.now()): string {
  if (poolAt + 10 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const r = poolAt;
  poolAt += 10;
  // 48-bit big-endian millisecond timestamp.
  const high = Math.floor(now / 0x1000000); // top 24 bits
  const low = now % 0x1000000; // bottom 24 bits
  const time = HEX[(high >>> 16) & 0xff] + HEX[(high >>> 8) & 0xff] + HEX[high & 0xff] + HEX[(low >>> 16) & 0xff] + '-' + HEX[(low >>> 8) & 0xff] + HEX[low & 0xff];
  const p = POOL;
  return `${time}-${HEX[0x70 | (p[r] & 0x0f)]}${HEX[p[r + 1]]}-${HEX[0x80 | (p[r + 2] & 0x3f)]}${HEX[p[r + 3]]}-${HEX[p[r + 4]]}${HEX[p[r + 5]]}${HEX[p[r + 6]]}${HEX[p[r + 7]]}${HEX[p[r + 8]]}${HEX[p[r + 9]]}`;
}
