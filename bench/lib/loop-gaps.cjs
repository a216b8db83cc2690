// Preloaded into a benchmark target with `node --require` (profile.mjs --tail): on the main thread, a 2 ms
// timer appends every gap between its runs above 10 ms to the file named by HEIMDALL_BENCH_LOOP_GAPS, as
// "<epoch ms> <gap ms>" lines. A gap is time the event loop could not run timers: a long task, GC, a
// blocking system call, or the thread waiting for a core. Appending costs nothing while there is no gap.
'use strict';
const { isMainThread } = require('node:worker_threads');
const file = process.env.HEIMDALL_BENCH_LOOP_GAPS;
if (isMainThread && file) {
  const { appendFileSync } = require('node:fs');
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 10) appendFileSync(file, `${Date.now()} ${(now - last).toFixed(1)}\n`);
    last = now;
  }, 2).unref();
}
