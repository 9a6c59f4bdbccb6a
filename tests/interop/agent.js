'use strict'
// The Node half of the interop tests: one peer of the reference package
// (npm hms-protocol 1.2.3 on cable 1.3.0) on an already connected socket,
// remote-controlled by the C++ test through stdin.
//
// stdout carries one JSON document per line, so the C++ side can wait for
// exactly what it expects. Lines it produces:
//   {"connected":true, ...}           the socket is piped into the protocol
//   {"event":E,"args":[...]}          the peer sent us message E
//   {"tag":T, ...}                    the outcome of command T
//   {"wire":{type,rid,len,op,id}}     an incoming request frame (tap on)
//   {"socket":"end"|"close"|"error"}  the transport went away
//   {"cable":"finish"}                the cable's writable side finished
//
// Buffers are written as {"len":n,"fnv":fnv1a32,"hex":...} (hex only up to
// 4 KiB) so large payloads are compared by length and checksum.
//
// Replies our listeners give (the C++ tests rely on these):
//   handshake -> {type:'terminal',version:'0.4.4'}
//   get(id)   -> {id, start:'node app.js'}, or Error 'Service not found'
//                when id is 'missing'
//   list      -> [{id:'web',start:'node app.js',tags:['a']}]
//   ps        -> [{id:'dock-a',hostname:'h1',tags:[],list:[{id:'web',pid:42}]}]
//   others    -> empty reply; Error 'Service not found' for id 'fail';
//                start/stop/restart/remove of an id beginning with 'hold'
//                are kept until a "release" command answers them.

const readline = require('readline')
const protocol = require('hms-protocol')

// The reference package predates Buffer.from; its `new Buffer` warnings
// would only clutter the test log.
process.noDeprecation = true

// Nothing may outlive a broken test run: the C++ side kills us after 60 s
// too, this is the second line of defence.
setTimeout(() => {
  out({fatal: 'agent timed out'})
  process.exit(3)
}, 60000).unref()

function out (obj) {
  // Pipes are written synchronously on Linux, so lines are never lost on
  // exit and never interleave.
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fnv (buf) {
  let h = 0x811c9dc5
  for (let i = 0; i < buf.length; i++) h = Math.imul(h ^ buf[i], 16777619) >>> 0
  return h
}

function encBuffer (buf) {
  const r = {len: buf.length, fnv: fnv(buf)}
  if (buf.length <= 4096) r.hex = buf.toString('hex')
  return r
}

// Same pattern as the C++ side's pattern(): a period of 251 (not a power of
// two) makes a shifted or truncated copy show up in the checksum.
function pattern (len, seed) {
  const b = Buffer.allocUnsafe(len)
  for (let i = 0; i < len; i++) b[i] = (i % 251 + seed) & 255
  return b
}

// Command arguments: {"$hex":"..."} and {"$pattern":[len,seed]} stand for
// Buffers; everything else is passed as parsed.
function decodeArg (a) {
  if (a && typeof a === 'object' && !Array.isArray(a)) {
    if (typeof a.$hex === 'string') return Buffer.from(a.$hex, 'hex')
    if (Array.isArray(a.$pattern)) return pattern(a.$pattern[0], a.$pattern[1])
  }
  return a
}

function encValue (v) {
  if (Buffer.isBuffer(v)) return {buf: encBuffer(v)}
  if (v === undefined) return {undef: true}
  return {json: JSON.stringify(v)}
}

function encArgs (args) {
  return args.map((a) => Buffer.isBuffer(a) ? {buf: encBuffer(a)} : a)
}

// Parses the incoming byte stream a second time, independently of cable, to
// report the request ids exactly as they are on the wire.
function makeTap (state) {
  let pending = Buffer.alloc(0)
  let skip = 0
  return function (chunk) {
    if (skip) {
      const n = Math.min(skip, chunk.length)
      skip -= n
      chunk = chunk.subarray(n)
    }
    if (!chunk.length) return
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    for (;;) {
      if (pending.length < 7) return
      const type = pending[0]
      const rid = pending.readUInt16LE(1)
      const len = pending.readUInt32LE(3)
      const info = {type: type, rid: rid, len: len}
      if (type <= 1) {
        if (pending.length < 10) return
        const idLen = pending.readUInt16LE(8)
        if (pending.length < 10 + idLen) return
        info.op = pending[7]
        info.id = pending.toString('utf-8', 10, 10 + idLen)
      }
      if (state.tap) out({wire: info})
      const total = 7 + len
      if (pending.length >= total) {
        pending = pending.subarray(total)
      } else {
        skip = total - pending.length
        pending = Buffer.alloc(0)
        return
      }
    }
  }
}

function run (socket, head, info) {
  const p = protocol()
  const state = {tap: false, quiet: false}
  const held = new Map()

  const report = (event, args, extra) => {
    if (state.quiet) return
    out(Object.assign({event: event, args: encArgs(args)}, extra || {}))
  }
  const subs = () => ({
    am: Object.keys(p._amSubscribing).sort(),
    peer: Object.keys(p._peerSubscribing).sort()
  })

  p.on('handshake', (hs, cb) => {
    report('handshake', [JSON.stringify(hs)])
    cb(null, {type: 'terminal', version: '0.4.4'})
  })
  p.on('get', (id, cb) => {
    report('get', [id])
    if (id === 'missing') return cb(new Error('Service not found'))
    cb(null, {id: id, start: 'node app.js'})
  })
  p.on('list', (cb) => {
    report('list', [])
    cb(null, [{id: 'web', start: 'node app.js', tags: ['a']}])
  })
  p.on('ps', (cb) => {
    report('ps', [])
    cb(null, [{id: 'dock-a', hostname: 'h1', tags: [], list: [{id: 'web', pid: 42}]}])
  })
  for (const ev of ['add', 'update', 'sync']) {
    p.on(ev, (id, service, cb) => {
      report(ev, [id, JSON.stringify(service)])
      if (id === 'fail') return cb(new Error('Service not found'))
      cb()
    })
  }
  for (const ev of ['remove', 'start', 'stop', 'restart']) {
    p.on(ev, (id, cb) => {
      const hold = id.startsWith('hold')
      report(ev, [id], {held: hold})
      if (hold) return held.set(id, cb)
      if (id === 'fail') return cb(new Error('Service not found'))
      cb()
    })
  }
  for (const ev of ['subscribe', 'unsubscribe']) {
    p.on(ev, (id, cb) => {
      report(ev, [id], subs())
      cb()
    })
  }
  for (const ev of ['stdout', 'stderr', 'spawn', 'exit']) {
    p.on(ev, (id, origin, data) => report(ev, [id, origin, data]))
  }
  p.on('ping', () => report('ping', []))
  p.on('finish', () => out({cable: 'finish'}))

  const reply = (tag) => (err, value) => {
    out(Object.assign({tag: tag, err: err ? err.message : null}, err ? {} : encValue(value)))
  }

  const commands = {
    // Calls p[op](...args, cb); the one-way events get no callback.
    call (c) {
      const args = (c.args || []).map(decodeArg)
      if (['stdout', 'stderr', 'spawn', 'exit'].includes(c.op)) {
        p[c.op].apply(p, args)
        return out({tag: c.tag, sent: true})
      }
      p[c.op].apply(p, args.concat([reply(c.tag)]))
    },
    // A raw hms message, e.g. an unknown opcode or an id without '@'.
    send (c) {
      const payload = c.payload === undefined ? null : decodeArg(c.payload)
      if (c.oneway) {
        p._send(c.opcode, c.id, payload)
        return out({tag: c.tag, sent: true})
      }
      p._send(c.opcode, c.id, payload, reply(c.tag))
    },
    // n get() calls written back to back before any reply can arrive; every
    // reply must carry the id it was asked for.
    pipeline (c) {
      let done = 0
      let bad = 0
      let firstBad = null
      for (let i = 0; i < c.n; i++) {
        const want = 'svc' + i
        p.get(want, (err, value) => {
          if (err || !value || value.id !== want) {
            bad++
            if (firstBad === null) firstBad = {i: i, err: err ? err.message : null, value: value}
          }
          if (++done === c.n) out({tag: c.tag, done: done, bad: bad, firstBad: firstBad})
        })
      }
    },
    release (c) {
      for (const id of c.ids) {
        const cb = held.get(id)
        held.delete(id)
        if (cb) cb()
      }
      out({tag: c.tag, released: c.ids})
    },
    unlisten (c) {
      p.removeAllListeners(c.event)
      out({tag: c.tag, ok: true})
    },
    tap (c) {
      state.tap = !!c.on
      out({tag: c.tag, ok: true})
    },
    quiet (c) {
      state.quiet = !!c.on
      out({tag: c.tag, ok: true})
    },
    state (c) {
      out(Object.assign({tag: c.tag,
        amSubscribing: c.ids.map((id) => !!p.amSubscribing(id)),
        peerSubscribing: c.ids.map((id) => !!p.peerSubscribing(id))}, subs()))
    },
    // Sub-commands run in one go, with no I/O in between: requests in a
    // batch are all written before any reply can be read.
    batch (c) {
      for (const sub of c.cmds) commands[sub.cmd](sub)
      out({tag: c.tag, ok: true})
    },
    destroy (c) {
      socket.destroy()
      out({tag: c.tag, destroyed: true})
    }
  }

  socket.setNoDelay(true)
  socket.on('end', () => out({socket: 'end'}))
  socket.on('close', () => out({socket: 'close'}))
  socket.on('error', (err) => out({socket: 'error', code: err.code || err.message}))
  // The tap sees the bytes in the same order as the cable: `head` first.
  const tap = makeTap(state)
  socket.on('data', tap)
  if (head && head.length) {
    tap(head)
    p.write(head)
  }
  socket.pipe(p).pipe(socket)
  out(Object.assign({connected: true, headBytes: head ? head.length : 0}, info))

  handle = (c) => {
    const fn = commands[c.cmd]
    if (!fn) return out({tag: c.tag, fatal: 'unknown command ' + c.cmd})
    fn(c)
  }
  queued.splice(0).forEach(handle)
}

// Commands that arrive before the connection is up wait for it.
const queued = []
let handle = (c) => queued.push(c)

// Reads commands from stdin; the C++ side closes our stdin when a test ends,
// and that ends us.
function start () {
  const rl = readline.createInterface({input: process.stdin})
  rl.on('line', (line) => {
    if (line.trim()) handle(JSON.parse(line))
  })
  rl.on('close', () => process.exit(0))
}

module.exports = {run: run, out: out, start: start}
