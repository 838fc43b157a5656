// Test-only preload for a real server process:
//   node --expose-gc --import ./gc-on-signal.mjs dist/main.js ...
// On SIGUSR2 it collects garbage (twice: weak references die in the first
// pass) and prints the heap in use, numbered, so a test can wait for it.
let collections = 0;
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stdout.write(`gc ${++collections}: heap ${process.memoryUsage().heapUsed} B\n`);
});
