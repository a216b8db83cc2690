// Worker thread that ticks at exact times for the load generator. Node's timers fire on whole
// milliseconds and late (p50 ≈ 0.6 ms here), which would add the generator's own jitter to every latency.
// This thread sleeps in Atomics.wait until just before each tick, spins the last SPIN_MS (futex sleeps
// overshoot by ~50–100 µs), and posts the tick number. The main thread then sends the requests due by it.
import { parentPort } from 'node:worker_threads';

const SPIN_MS = 0.08;

parentPort?.once('message', (/** @type {{ control: SharedArrayBuffer, start: number, tickMs: number, ticks: number }} */ message) => {
  const control = new Int32Array(message.control);
  const { start, tickMs, ticks } = message;
  for (let tick = 0; tick < ticks; tick += 1) {
    const due = start + tick * tickMs;
    for (;;) {
      if (Atomics.load(control, 0) !== 0) return;
      const remaining = due - performance.now();
      if (remaining <= 0) break;
      if (remaining > SPIN_MS) Atomics.wait(control, 0, 0, remaining - SPIN_MS);
    }
    parentPort?.postMessage(tick);
  }
});
