/** Units an operator may write a duration in (`90d`, `12h`, `30m`, `45s`, `2w`). */
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The longest duration accepted: ten years, far past any sensible retention or invite lifetime. */
export const MAX_DURATION_MS = 10 * 365 * UNIT_MS.d;

/**
 * Reads an operator's duration: a whole number and one unit, e.g. `90d`.
 * Returns milliseconds, or a reason that says what was expected (never a
 * thrown error: flags and console commands each word the refusal their way).
 */
export function parseDuration(text: string): { ok: true; ms: number } | { ok: false; reason: string } {
  const match = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (match === null) return { ok: false, reason: 'expected a whole number and a unit: s, m, h, d or w (e.g. 90d)' };
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms === 0) return { ok: false, reason: 'a duration must be longer than zero' };
  if (ms > MAX_DURATION_MS) return { ok: false, reason: 'a duration may be at most ten years' };
  return { ok: true, ms };
}

/** `90d`-style text for a duration in ms, in the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}
