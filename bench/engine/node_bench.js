#!/usr/bin/env node
// The Node reference (hms-protocol 1.2.3 on cable 1.3.0) in the same roles as
// hms_engine_bench, with the same options and the same `metric <name> <value>`
// lines on stdout (see common.hpp):
//
//   node node_bench.js <role> --port P [--duration S] [--warmup S]
//                      [--payload N] [--window N] [--high-water N]
//
// Roles: recv, send, rpc-server, rpc-client. hms-protocol is found through
// NODE_PATH (scripts/bench points it at build-bench/node/node_modules).
// Every frame counted is checked, and every program ends by itself.
'use strict'

const net = require('net')
const protocol = require('hms-protocol')

const GRACE_SECONDS = 15 // as kGraceSeconds in common.hpp

function parseArgs (argv) {
  const o = { role: argv[0], port: 0, duration: 3, warmup: 0.5, payload: 64, window: 128, highWater: 4 << 20 }
  const names = { '--port': 'port', '--duration': 'duration', '--warmup': 'warmup', '--payload': 'payload', '--window': 'window', '--high-water': 'highWater', '--chunk': 'chunk' }
  for (let i = 1; i < argv.length; i += 2) {
    const key = names[argv[i]]
    if (!key || i + 1 >= argv.length) fail('bad argument ' + argv[i])
    o[key] = Number(argv[i + 1])
  }
  if (!o.port) fail('--port is required')
  return o
}

function fail (msg) {
  process.stderr.write('node_bench: ' + msg + '\n')
  process.exit(1)
}

function metric (name, value) {
  process.stdout.write('metric ' + name + ' ' + value.toFixed(3) + '\n')
}

const now = () => process.hrtime.bigint()
const secondsBetween = (a, b) => Number(b - a) / 1e9

// Counts at both ends of the measured window; rates use the time actually
// elapsed between the two snapshots (timers may fire late on a busy loop).
function makeWindow () {
  return {
    started: false,
    ended: false,
    start (items, bytes) { this.t0 = now(); this.items0 = items; this.bytes0 = bytes; this.started = true },
    end (items, bytes) { this.t1 = now(); this.items1 = items; this.bytes1 = bytes; this.ended = true },
    itemsPerS () { return (this.items1 - this.items0) / secondsBetween(this.t0, this.t1) },
    bytesPerS () { return (this.bytes1 - this.bytes0) / secondsBetween(this.t0, this.t1) }
  }
}

// Exactly one connection, then the listener closes (the port is free again).
function acceptOne (o, onSocket) {
  const server = net.createServer((sock) => {
    server.close()
    sock.setNoDelay(true) // as the engine and the raw floor do
    onSocket(sock)
  })
  server.listen(o.port, '127.0.0.1')
}

// The other side may not listen yet: retry refused connects briefly.
function connectRetry (o, deadline, onSocket) {
  const sock = net.connect(o.port, '127.0.0.1')
  sock.once('connect', () => {
    sock.removeAllListeners('error')
    sock.setNoDelay(true)
    onSocket(sock)
  })
  sock.once('error', (err) => {
    if (err.code === 'ECONNREFUSED' && Date.now() < deadline) {
      setTimeout(() => connectRetry(o, deadline, onSocket), 5)
    } else {
      fail('connect: ' + err.message)
    }
  })
}

function hardDeadline (o) {
  const ms = (o.warmup + o.duration + GRACE_SECONDS) * 1000
  setTimeout(() => { process.stderr.write('node_bench: hard deadline reached\n'); process.exit(0) }, ms).unref()
  return Date.now() + ms
}

// stdout frames into a receiving protocol, counted per 'stdout' event.
function recv (o) {
  hardDeadline(o)
  acceptOne(o, (sock) => {
    const p = protocol()
    let frames = 0
    let bytes = 0
    const w = makeWindow()
    p.on('stdout', (id, origin, payload) => {
      if (id !== 'web' || origin !== 'dock-1' || payload.length !== o.payload) fail('recv: frame ' + frames + ' is not the one that was sent')
      frames++
      bytes += payload.length
      if (frames === 1) {
        // The clock starts at the first frame, as in the C++ receivers.
        setTimeout(() => w.start(frames, bytes), o.warmup * 1000)
        setTimeout(() => {
          w.end(frames, bytes)
          metric('frames_per_s', w.itemsPerS())
          metric('bytes_per_s', w.bytesPerS())
          metric('frames_measured', w.items1 - w.items0)
          sock.destroy()
          process.exit(0)
        }, (o.warmup + o.duration) * 1000)
      }
    })
    sock.on('error', () => {})
    sock.pipe(p)
  })
}

// The reference's p.stdout piped to the socket, with backpressure: produce
// while less than high-water bytes wait in the protocol and socket buffers.
function send (o) {
  const deadline = hardDeadline(o)
  connectRetry(o, deadline, (sock) => {
    const p = protocol()
    const payload = Buffer.alloc(o.payload, 'x')
    let closed = false
    sock.on('error', () => {})
    sock.on('close', () => { closed = true; process.exit(0) })
    p.pipe(sock)
    const pump = () => {
      if (closed) return
      // A bounded batch per turn, so socket I/O gets its turn in between.
      for (let i = 0; i < 4096 && p.readableLength + sock.writableLength < o.highWater; i++) {
        p.stdout('web', 'dock-1', payload)
      }
      setImmediate(pump)
    }
    pump()
  })
}

function rpcServer (o) {
  hardDeadline(o)
  acceptOne(o, (sock) => {
    const p = protocol()
    p.on('start', (id, cb) => {
      if (id !== 'web') fail('rpc-server: unexpected request')
      cb()
    })
    sock.on('error', () => {})
    sock.on('close', () => process.exit(0))
    sock.pipe(p).pipe(sock)
  })
}

function rpcClient (o) {
  const deadline = hardDeadline(o)
  connectRetry(o, deadline, (sock) => {
    const p = protocol()
    const w = makeWindow()
    const latencies = []
    let done = 0
    let stopping = false
    sock.on('error', () => {})
    sock.on('close', () => { if (!stopping) fail('rpc-client: the server closed the connection') })
    sock.pipe(p).pipe(sock)
    const issue = () => {
      const sent = o.window === 1 ? now() : 0n
      p.start('web', (err, body) => {
        if (stopping) return
        if (err || body.length !== 0) fail('rpc-client: request failed: ' + (err ? err.message : 'non-empty reply'))
        done++
        if (o.window === 1 && w.started) latencies.push(Number(now() - sent))
        issue()
      })
    }
    for (let i = 0; i < o.window; i++) issue()
    setTimeout(() => w.start(done, 0), o.warmup * 1000)
    setTimeout(() => {
      w.end(done, 0)
      stopping = true
      metric('requests_per_s', w.itemsPerS())
      metric('requests_measured', w.items1 - w.items0)
      if (latencies.length) {
        latencies.sort((a, b) => a - b)
        // Nearest rank, as Latencies::percentile_us.
        const pct = (q) => latencies[Math.min(latencies.length, Math.max(1, Math.ceil(q / 100 * latencies.length))) - 1] / 1000
        metric('rtt_p50_us', pct(50))
        metric('rtt_p99_us', pct(99))
        metric('rtt_p999_us', pct(99.9))
      }
      sock.destroy()
      process.exit(0)
    }, (o.warmup + o.duration) * 1000)
  })
}

const o = parseArgs(process.argv.slice(2))
const roles = { recv, send, 'rpc-server': rpcServer, 'rpc-client': rpcClient }
if (!roles[o.role]) fail('unknown role ' + o.role + ' (recv, send, rpc-server, rpc-client)')
roles[o.role](o)
