#!/usr/bin/env node
// The Node peer of keel-bench-bus (BusBench.cpp): the same operations on Node's own
// EventEmitter and event loop, timed with process.hrtime.bigint().
//
// Prints one JSON line per measurement: {"name": "...", "ns": X}, X in nanoseconds per
// operation (per emit, per listener call, per task, per setTimeout+clearTimeout pair).
// Each value is the median of several samples taken after a warm-up that lets V8 optimise.
//
//   node tests/perf/bus-peer.js [--quick]
'use strict';

const { EventEmitter } = require('node:events');

const QUICK = process.argv.includes('--quick');
const SAMPLES = QUICK ? 3 : 7;
const SAMPLE_NS = BigInt(QUICK ? 20e6 : 60e6); // target duration of one sample
const WARMUP_NS = BigInt(QUICK ? 50e6 : 200e6);
const BATCH = 1000; // tasks per batch for nextTick / setImmediate, as in BusBench.cpp

const now = process.hrtime.bigint;

function report(name, ns) {
  process.stdout.write(JSON.stringify({ name, ns: Number(ns.toFixed(3)) }) + '\n');
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

// A synchronous benchmark: `run(n)` performs n operations and returns a number derived from
// their results (kept in `sink` so that nothing is dead code). Hot loops accumulate into
// locals only: a module-level counter that leaves the small-integer range would be boxed,
// allocating on every increment. Warm up, find n so that one call lasts about SAMPLE_NS,
// then return the median ns per operation over SAMPLES calls.
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
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = now();
    const r = run(n);
    samples.push(Number(now() - t0) / n);
    sink = (sink + r) | 0;
  }
  return median(samples);
}

// An asynchronous benchmark: `batch()` resolves to the ns one batch of BATCH tasks took,
// from scheduling the first task to the end of the last. Median ns per task.
async function measureBatches(batch) {
  const warmEnd = now() + WARMUP_NS;
  let perBatch = 0;
  while (now() < warmEnd) perBatch = Number(await batch());
  const batchesPerSample = Math.max(1, Math.round(Number(SAMPLE_NS) / Math.max(perBatch, 1)));
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    let total = 0n;
    for (let b = 0; b < batchesPerSample; b++) total += await batch();
    samples.push(Number(total) / (batchesPerSample * BATCH));
  }
  return median(samples);
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
    const ns = measureSync(emitBench(listeners));
    report(`emit.listeners.${listeners}`, ns);
    report(`emit.per_listener.${listeners}`, ns / listeners);
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
