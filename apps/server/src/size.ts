/** Units an operator may write a size in: binary (KiB, MiB, GiB, TiB) and decimal (kB, MB, GB, TB); a bare number is bytes. */
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

/** The largest size accepted: 1 PiB, past any disk, and still an exact integer in a double. */
const MAX_SIZE_BYTES = 1024 ** 5;

/**
 * Reads an operator's size: a number and an optional unit, e.g. `256MiB`,
 * `1.5GiB`, `500MB`, `0`. Units are case-insensitive. Returns whole bytes
 * (rounded down), or a reason that says what was expected.
 */
export function parseSize(text: string): { ok: true; bytes: number } | { ok: false; reason: string } {
  const match = /^(\d{1,16}(?:\.\d{1,6})?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = UNIT_BYTES[(match?.[2] ?? '').toLowerCase() || 'b'];
  if (match === null || unit === undefined)
    return { ok: false, reason: 'expected a size such as 256MiB, 1GiB or 500MB (units: B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)' };
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes > MAX_SIZE_BYTES) return { ok: false, reason: 'a size may be at most 1024TiB' };
  return { ok: true, bytes };
}

/** `256MiB`-style text for a size in bytes, in the largest binary unit that divides it. */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = UNIT_BYTES[unit.toLowerCase()]!;
    if (bytes > 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
