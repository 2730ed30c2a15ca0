/**
 * Lets timers and I/O run during a long synchronous computation. tfjs's cpu and wasm backends
 * resolve `data()` as a microtask, so a training loop that awaits it every step still never lets
 * a timer fire: a BullMQ worker's lock renewal (jobs/queue.ts), a progress redraw or a signal
 * handler would wait for the whole job. `maybeYield()` gives the event loop one macrotask turn
 * when at least `everyMs` have passed since the last one (cost: one turn per `everyMs`, ~0 when
 * nothing is pending). setImmediate in Node, setTimeout(0) where it is missing (browsers).
 */
const turn: () => Promise<void> =
  typeof globalThis.setImmediate === 'function'
    ? () => new Promise((r) => globalThis.setImmediate(r))
    : () => new Promise((r) => setTimeout(r, 0));

let last = performance.now();

export async function maybeYield(everyMs = 200): Promise<void> {
  const now = performance.now();
  if (now - last < everyMs) return;
  await turn();
  last = performance.now();
}
