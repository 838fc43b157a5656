// Small helpers shared by the scenarios.
import { readFileSync } from 'node:fs';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile of plain numbers (for small samples such as 200 logins). */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Rounds for JSON and tables: 3 significant digits, integers stay whole. */
export function round(value, digits = 3) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value ?? null;
  if (Math.abs(value) >= 10 ** digits) return Math.round(value);
  return Number(value.toPrecision(digits));
}

export const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? round(a / b) : null);

/** Logs progress to stderr so stdout carries only the results table. */
export const log = (...parts) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

/** A plain-text table: rows of cells, first row the header. */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const line = (r) =>
    r
      .map((cell, c) => String(cell ?? '').padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * CPU seconds the whole machine has been busy (all processes, all cores),
 * from /proc/stat. Minus what the server and load used, it shows how much
 * other work (builds, tests) shared the machine during a measurement.
 */
export function machineBusySeconds() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks;
  void idle;
  void iowait;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * Waits (up to `maxWaitMs`) until the rest of the machine is quiet: other
 * people's builds and tests on a 2-core box swamp a latency measurement.
 * Returns how long it waited and how busy the machine was at the end.
 */
export async function waitForQuietMachine({ maxWaitMs = 20_000, quietCores = 0.3 } = {}) {
  const started = Date.now();
  let busyCores = 0;
  do {
    const before = machineBusySeconds();
    await sleep(250);
    busyCores = (machineBusySeconds() - before) / 0.25;
    if (busyCores <= quietCores) break;
  } while (Date.now() - started < maxWaitMs);
  return { waitedMs: Date.now() - started, busyCores: round(busyCores) };
}
