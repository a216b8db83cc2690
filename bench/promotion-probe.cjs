// A diagnostic preload for the gateway under a benchmark step (not part of the product): what survives
// V8's minor collections, and how the connections are used. Load it with Node's --require, e.g. through
// idle-step.mjs: `--gateway-node-arg=--require=./bench/promotion-probe.cjs` (run from the repository).
//
// Every second it appends one JSON line to $PROBE_OUT: the gateway's open server-side sockets and those
// answering a request, the upstream sockets busy, and for each side the requests started in that second,
// on how many distinct connections, how many connections were new, and the gaps since each connection's
// previous request (bucketed <10, <50, <200, <1000, >=1000 ms); plus the old and new spaces' used MB.
//
// $PROBE_PROFILE_OUT: a sampling heap profile (Chrome's .heapprofile) of the allocations that survived the
// minor collections: started $PROBE_PROFILE_DELAY_S (4) s after the first request that follows 3 s without
// any, stopped $PROBE_PROFILE_FOR_S (6) s later, after one more minor collection (so what the last one
// would have freed is not counted). Objects freed only by a full collection stay in it, i.e. it shows what
// was promoted to the old generation (and what was still alive at the end).
//
// $PROBE_KICK = minor2 | major | snapshot | closeidle, $PROBE_KICK_S seconds after that same request:
// two minor collections in a row (everything in flight is promoted), a full collection, a heap snapshot
// to $PROBE_SNAPSHOT_OUT, or closing the idle keep-alive connections (only when the old space grew more
// than 4 MB a second over the last 3 s). $PROBE_KICK_REPEAT (1) times, $PROBE_KICK_EVERY_MS (300) apart.
'use strict';
const dc = require('node:diagnostics_channel');
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

const out = process.env.PROBE_OUT;
const fd = out ? fs.openSync(out, 'w') : undefined;
const t0 = performance.now();
const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
const write = (line) => {
  if (fd !== undefined) fs.writeSync(fd, `${JSON.stringify(line)}\n`);
};

const GAP_BUCKETS_MS = [10, 50, 200, 1000, Infinity];
const lastUse = new WeakMap();
const counts = () => ({ uses: 0, distinct: new Set(), fresh: 0, gaps: GAP_BUCKETS_MS.map(() => 0) });
let server = counts();
let upstream = counts();
function use(side, socket) {
  if (socket === undefined || socket === null) return;
  const now = performance.now();
  side.uses++;
  side.distinct.add(socket);
  const previous = lastUse.get(socket);
  if (previous === undefined) side.fresh++;
  else side.gaps[GAP_BUCKETS_MS.findIndex((bucket) => now - previous < bucket)]++;
  lastUse.set(socket, now);
}

let httpServer;
let lastRequestAt = 0;
let armed = true;
dc.subscribe('http.server.request.start', (message) => {
  const now = performance.now();
  if (armed && lastRequestAt > 0 && now - lastRequestAt > 3000) {
    armed = false;
    if (process.env.PROBE_PROFILE_OUT) setTimeout(startProfile, Number(process.env.PROBE_PROFILE_DELAY_S ?? 4) * 1000).unref();
    const repeat = Number(process.env.PROBE_KICK_REPEAT ?? 1);
    const everyMs = Number(process.env.PROBE_KICK_EVERY_MS ?? 300);
    for (let i = 0; process.env.PROBE_KICK && i < repeat; i++) setTimeout(kick, Number(process.env.PROBE_KICK_S ?? 5) * 1000 + i * everyMs).unref();
  }
  lastRequestAt = now;
  httpServer ??= message.server;
  use(server, message.socket);
});
dc.subscribe('undici:client:sendHeaders', (message) => use(upstream, message.socket));

const oldSpace = [];
setInterval(() => {
  let open = 0;
  let answering = 0;
  let upstreamBusy = 0;
  for (const handle of process._getActiveHandles()) {
    if (handle?.constructor?.name !== 'Socket') continue;
    if (handle.server) {
      open++;
      if (handle._httpMessage) answering++;
    } else if (handle.remotePort) upstreamBusy++;
  }
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
  oldSpace.push(spaces.old_space);
  const summary = (side) => ({ uses: side.uses, distinct: side.distinct.size, fresh: side.fresh, gaps: side.gaps });
  if (server.uses > 0 || upstream.uses > 0) {
    write({ t: seconds(), server: open, answering, upstreamBusy, srv: summary(server), up: summary(upstream), oldMb: Math.round(spaces.old_space / 1e5) / 10, newMb: Math.round(spaces.new_space / 1e5) / 10 });
  }
  server = counts();
  upstream = counts();
}, 1000).unref();

function collector() {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  v8.setFlagsFromString('--no-expose-gc');
  return gc;
}

function startProfile() {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.PROBE_SAMPLING_INTERVAL ?? 16384),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  }, (error) => write(error ? { error: error.message } : { profiling: seconds() }));
  setTimeout(() => {
    collector()({ type: 'minor' });
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) return write({ error: error.message });
      fs.writeFileSync(process.env.PROBE_PROFILE_OUT, JSON.stringify(result.profile));
      write({ profiled: seconds() });
      session.disconnect();
    });
  }, Number(process.env.PROBE_PROFILE_FOR_S ?? 6) * 1000).unref();
}

function kick() {
  const kind = process.env.PROBE_KICK;
  if (kind === 'minor2') {
    const gc = collector();
    gc({ type: 'minor' });
    gc({ type: 'minor' });
  } else if (kind === 'major') {
    collector()();
  } else if (kind === 'snapshot') {
    write({ snapshot: v8.writeHeapSnapshot(process.env.PROBE_SNAPSHOT_OUT) });
  } else if (kind === 'closeidle') {
    const n = oldSpace.length;
    const growth = n > 3 ? (oldSpace[n - 1] - oldSpace[n - 4]) / 3 : 0;
    write({ oldGrowthMbPerS: Math.round(growth / 1e5) / 10 });
    if (growth > 4e6 && httpServer) httpServer.closeIdleConnections();
    else return;
  }
  write({ kick: kind, t: seconds() });
}
