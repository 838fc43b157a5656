import { describe, expect, it } from '@jest/globals';
import { KeyedGate } from './keyed-gate.js';

/** A task that runs until released, recording when it starts. */
function task(log: string[], name: string): { run: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    run: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
  };
}

describe(KeyedGate, () => {
  it('should run one task per key at a time, in arrival order, and other keys alongside', async () => {
    const gate = new KeyedGate(1, 10);
    const log: string[] = [];
    const a1 = task(log, 'a1');
    const a2 = task(log, 'a2');
    const b1 = task(log, 'b1');
    const results = [gate.run('a', a1.run), gate.run('a', a2.run), gate.run('b', b1.run)];
    await Promise.resolve();
    expect(log).toEqual(['start a1', 'start b1']);
    a2.release(); // finishing early changes nothing: a2 has not started
    b1.release();
    a1.release();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    expect(gate.size).toBe(0);
  });

  it('should refuse work beyond the waiting limit at once, and release a slot when a task throws', async () => {
    const gate = new KeyedGate(2, 1);
    const log: string[] = [];
    const running = [task(log, 'r1'), task(log, 'r2')];
    const first = running.map((t) => gate.run('k', t.run));
    const waiting = gate.run('k', async () => 'waited');
    expect(await gate.run('k', async () => 'refused')).toBeUndefined();
    running[0]!.release();
    running[1]!.release();
    await Promise.all(first);
    expect(await waiting).toBe('waited');
    await expect(gate.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('k', async () => 'after')).toBe('after');
    expect(gate.size).toBe(0);
  });
});
