#!/usr/bin/env node
// Decode and encode rate of the Node reference (hms-protocol 1.2.3 on cable
// 1.3.0) for 64-byte stdout frames, to compare with BM_DecodeStdout/64 and
// BM_EncodeStdout/64 in hms_codec_bench.
//
//   npm install --prefix <builddir>/node hms-protocol@1.2.3
//   node bench/node/codec_bench.js [node_modules dir] [seconds per bench]
//   HMS_NODE_MODULES=<builddir>/node/node_modules node bench/node/codec_bench.js
//
// Prints one JSON line per result:
//   {"bench":"codec_decode_stdout_64","impl":"node","value":N,"unit":"frames/s"}
// Each bench runs a warm-up round (JIT) and then several timed rounds; the
// best round is reported, as the C++ side reports a steady-state rate.
'use strict'

const path = require('path')

const modules = process.argv[2] || process.env.HMS_NODE_MODULES
if (!modules) {
  console.error('usage: codec_bench.js <node_modules dir> [seconds]  (or set HMS_NODE_MODULES)')
  process.exit(2)
}
const seconds = Number(process.argv[3] || process.env.HMS_BENCH_SECONDS || 2)
const protocol = require(path.resolve(modules, 'hms-protocol'))

const PAYLOAD = 64
const SERVICE = 'web'
const ORIGIN = 'dock-1'
const payload = Buffer.alloc(PAYLOAD, 'x')

// One stdout frame exactly as the reference writes it (header + message).
// The stream is paused until someone reads, so read() returns the bytes.
function stdoutFrame () {
  const p = protocol()
  p.stdout(SERVICE, ORIGIN, payload)
  const frame = p.read()
  if (!frame || frame.length !== 7 + 3 + SERVICE.length + 1 + ORIGIN.length + PAYLOAD) {
    throw new Error('unexpected stdout frame from the reference')
  }
  return frame
}

// Runs `round` (which returns frames done) repeatedly for about `secs`
// seconds after one warm-up round; returns the best frames/s of a round.
function measure (round, secs) {
  round()
  let best = 0
  const end = process.hrtime.bigint() + BigInt(Math.round(secs * 1e9))
  do {
    const t0 = process.hrtime.bigint()
    const frames = round()
    const ns = Number(process.hrtime.bigint() - t0)
    best = Math.max(best, frames / (ns / 1e9))
  } while (process.hrtime.bigint() < end)
  return best
}

function report (bench, value) {
  console.log(JSON.stringify({ bench, impl: 'node', value: Math.round(value), unit: 'frames/s' }))
}

// Decode: a big buffer of back-to-back frames written in 64 KiB chunks (what
// a socket hands over), counting 'stdout' events. Frames straddle chunks.
function decodeBench () {
  const frame = stdoutFrame()
  const FRAMES = 200000
  const all = Buffer.alloc(frame.length * FRAMES)
  for (let i = 0; i < FRAMES; i++) frame.copy(all, i * frame.length)
  const CHUNK = 64 * 1024

  return measure(() => {
    const p = protocol()
    let count = 0
    let bytes = 0
    p.on('stdout', (id, origin, data) => {
      // Touch what the C++ bench touches: service, origin, payload.
      count++
      bytes += data.length + id.length + origin.length
    })
    for (let off = 0; off < all.length; off += CHUNK) p.write(all.subarray(off, off + CHUNK))
    if (count !== FRAMES || bytes !== FRAMES * (PAYLOAD + SERVICE.length + ORIGIN.length)) {
      throw new Error(`decoded ${count} frames, ${bytes} bytes; want ${FRAMES}`)
    }
    return count
  }, seconds)
}

// Encode: p.stdout() in a loop while the readable side is drained by a
// 'data' listener, as a pipe to a socket would; bytes out are checked.
// A 'data' listener starts the flow on the next tick: call back after it.
function encodeBench (done) {
  const frameLen = stdoutFrame().length
  const FRAMES = 200000
  const p = protocol()
  let bytes = 0
  p.on('data', (c) => { bytes += c.length })

  setImmediate(() => done(measure(() => {
    const before = bytes
    for (let i = 0; i < FRAMES; i++) p.stdout(SERVICE, ORIGIN, payload)
    if (bytes - before !== FRAMES * frameLen) {
      throw new Error(`encoded ${bytes - before} bytes, want ${FRAMES * frameLen}`)
    }
    return FRAMES
  }, seconds)))
}

report('codec_decode_stdout_64', decodeBench())
encodeBench((rate) => report('codec_encode_stdout_64', rate))
