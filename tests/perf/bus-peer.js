#!/usr/bin/env node
// The Node peer of keel-bench-bus (BusBench.cpp): the same operations on Node's own
// EventEmitter and event loop, timed with process.hrtime.bigint().
//
// Prints one JSON line per measurement: {"name": "...", "ns": X, "cpu_ns": Y}: X is wall-clock
// (process.hrtime.bigint) nanoseconds per operation (per emit, per listener call, per task,
// per setTimeout+clearTimeout pair), Y the same in process CPU time (process.cpuUsage),
// which time slices taken by other processes do not inflate.
// Each value is the best (--stat=min, the default) or the median (--stat=median) of several
// samples of about 40 ms each, taken after a warm-up that lets V8 optimise. A sample spans
// many operations, so allocation and GC costs are in it either way.
//
//   node tests/perf/bus-peer.js [--stat=min|median] [--quick]
'use strict';

const { EventEmitter } = require('node:events');

const QUICK = process.argv.includes('--quick');
const STAT = (process.argv.find((a) => a.startsWith('--stat=')) || '--stat=min').slice('--stat='.length);
if (STAT !== 'min' && STAT !== 'median') {
  console.error(`bus-peer.js: unknown --stat=${STAT} (min or median)`);
  process.exit(2);
}
const SAMPLES = QUICK ? 3 : 9;
const SAMPLE_NS = BigInt(QUICK ? 20e6 : 40e6); // target duration of one sample
const WARMUP_NS = BigInt(QUICK ? 50e6 : 200e6);
const BATCH = 1000; // tasks per batch for nextTick / setImmediate, as in BusBench.cpp

const now = process.hrtime.bigint;

// `m`: {wall, cpu} ns per operation; `per`: operations it stands for (listeners per emit).
function report(name, m, per = 1) {
  const round = (v) => Number((v / per).toFixed(3));
  process.stdout.write(JSON.stringify({ name, ns: round(m.wall), cpu_ns: round(m.cpu) }) + '\n');
}

function summarise(values) {
  const s = [...values].sort((a, b) => a - b);
  if (STAT === 'min') return s[0];
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// Process CPU time in ns (user + system, every thread of the process). Under taskset all of
// them share one CPU, so this is the wall time minus what other processes took from it.
function cpuNow() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

// A synchronous benchmark: `run(n)` performs n operations and returns a number derived from
// their results (kept in `sink` so that nothing is dead code). Hot loops accumulate into
// locals only: a module-level counter that leaves the small-integer range would be boxed,
// allocating on every increment. Warm up, find n so that one call lasts about SAMPLE_NS,
// then return {wall, cpu}: the min or median ns per operation over SAMPLES calls.
let sink = 0;
function measureSync(run) {
  let n = 16;
  const warmEnd = now() + WARMUP_NS;
  let took = 0n;
  while (now() < warmEnd || took < SAMPLE_NS / 4n) {
    const t0 = now();
    sink = (sink + run(n)) | 0;
    took = now() - t0;
    if (took < SAMPLE_NS / 4n) n *= 2;
  }
  n = Math.max(1, Math.round((n * Number(SAMPLE_NS)) / Number(took)));
  const wall = [];
  const cpu = [];
  for (let i = 0; i < SAMPLES; i++) {
    const c0 = cpuNow();
    const t0 = now();
    const r = run(n);
    const t1 = now();
    cpu.push((cpuNow() - c0) / n);
    wall.push(Number(t1 - t0) / n);
    sink = (sink + r) | 0;
  }
  return { wall: summarise(wall), cpu: summarise(cpu) };
}

// An asynchronous benchmark: `batch()` resolves to the ns one batch of BATCH tasks took,
// from scheduling the first task to the end of the last. Returns {wall, cpu}: min or median
// ns per task (the CPU time of a sample also covers the promise that chains its batches,
// about 0.1% of it).
async function measureBatches(batch) {
  const warmEnd = now() + WARMUP_NS;
  let perBatch = 0;
  while (now() < warmEnd) perBatch = Number(await batch());
  const batchesPerSample = Math.max(1, Math.round(Number(SAMPLE_NS) / Math.max(perBatch, 1)));
  const wall = [];
  const cpu = [];
  for (let i = 0; i < SAMPLES; i++) {
    let total = 0n;
    const c0 = cpuNow();
    for (let b = 0; b < batchesPerSample; b++) total += await batch();
    cpu.push((cpuNow() - c0) / (batchesPerSample * BATCH));
    wall.push(Number(total) / (batchesPerSample * BATCH));
  }
  return { wall: summarise(wall), cpu: summarise(cpu) };
}

// --- EventEmitter (the bus) -------------------------------------------------------------

let calls = 0; // reset by every run(n), so it stays a small integer
function makeListener() {
  return function listener(payload) {
    calls++;
  };
}

const payload = { type: 'text/plain', data: Buffer.from('hello') };

function emitBench(listeners) {
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  for (let i = 0; i < listeners; i++) ee.on('bench.fanout', makeListener());
  return function run(n) {
    calls = 0;
    let delivered = 0;
    for (let i = 0; i < n; i++) if (ee.emit('bench.fanout', payload)) delivered++;
    if (delivered !== n || calls !== n * listeners) throw new Error('listener calls lost');
    return delivered;
  };
}

// An event nobody listens to. With `others`, the emitter has listeners for 64 other events:
// its _events object is then a dictionary, so the lookup is a hash probe (Keel's bus indexes
// an array either way).
function emitNone(others) {
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  if (others) for (let i = 0; i < 64; i++) ee.on('bench.topic.' + i, makeListener());
  return function run(n) {
    let delivered = 0;
    for (let i = 0; i < n; i++) if (ee.emit('bench.nobody', payload)) delivered++;
    return delivered;
  };
}

// The closest analogue of Bus::topic(name) on an interned name: a Map lookup by string.
function mapGet(name) {
  const map = new Map();
  for (let i = 0; i < 64; i++) map.set('bench.topic.' + i, i + 1);
  map.set(name, 65);
  return function run(n) {
    let found = 0;
    for (let i = 0; i < n; i++) found ^= map.get(name);
    return found;
  };
}

// --- the loop ---------------------------------------------------------------------------

let ran = 0; // reset by every batch
function task() {
  ran++;
}

function tickBatch() {
  return new Promise((resolve) => {
    ran = 0;
    const t0 = now();
    for (let i = 0; i < BATCH - 1; i++) process.nextTick(task);
    process.nextTick(() => {
      const t1 = now();
      if (ran !== BATCH - 1) throw new Error('ticks lost');
      resolve(t1 - t0);
    });
  });
}

function immediateBatch() {
  return new Promise((resolve) => {
    ran = 0;
    const t0 = now();
    for (let i = 0; i < BATCH - 1; i++) setImmediate(task);
    setImmediate(() => {
      const t1 = now();
      if (ran !== BATCH - 1) throw new Error('immediates lost');
      resolve(t1 - t0);
    });
  });
}

function noop() {}
function timerPairs(n) {
  for (let i = 0; i < n; i++) clearTimeout(setTimeout(noop, 1));
  return n;
}

async function main() {
  report('emit.none', measureSync(emitNone(false)));
  report('emit.none_64_other_events', measureSync(emitNone(true)));
  for (const listeners of [1, 8, 64]) {
    const m = measureSync(emitBench(listeners));
    report(`emit.listeners.${listeners}`, m);
    report(`emit.per_listener.${listeners}`, m, listeners);
  }
  report('map_get.short', measureSync(mapGet('http.request')));
  report('map_get.long', measureSync(mapGet('http.server.request.finished')));
  report('nextTick.per_task', await measureBatches(tickBatch));
  report('setImmediate.per_task', await measureBatches(immediateBatch));
  report('setTimeout_clearTimeout.pair', measureSync(timerPairs));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
