// A reference hms peer (npm hms-protocol 1.2.3) for the hub tests: a dock or
// a client, connected the way the reference hms connects (HTTP CONNECT, then
// the protocol on the socket), driven by JSON commands on stdin and
// reporting everything it sees as JSON lines on stdout.
//
//   node peer.js '{"port":N,"role":"dock"|"client","id":"..","tags":[..],
//                  "default":bool,"ps":[..],"fail":{"op:id":"message"}}'
//
// stdin, one per line: {"seq":n,"op":"add","args":["web",{...}]}; a Buffer
// argument is written {"hex":"..."}; op "stream" sends `count` stdout lines.
// stdout: {"event":"handshake"|"reply"|"call"|"stdout"|"stderr"|"spawn"|
//          "exit"|"sent"|"closed"|"error", ...}
// Hangs up when stdin ends; exits when the connection closes.
'use strict'

const http = require('http')
const readline = require('readline')
const protocol = require('hms-protocol')

const conf = JSON.parse(process.argv[2])
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
// Replies and events carry Buffers; lines carry them as hex so any byte
// survives the trip.
const plain = (v) => {
  if (Buffer.isBuffer(v)) return v.length ? { hex: v.toString('hex') } : null
  return v === undefined ? null : v
}
const unhex = (v) => (v && typeof v === 'object' && typeof v.hex === 'string') ? Buffer.from(v.hex, 'hex') : v

const headers = conf.role === 'dock' ? { origin: conf.id } : {}
const req = http.request({ method: 'CONNECT', host: '127.0.0.1', port: conf.port, path: '/', headers: headers })
req.on('error', (err) => {
  out({ event: 'error', message: err.message })
  process.exit(1)
})

req.on('connect', (res, socket, head) => {
  const p = protocol()
  // Bytes behind the response head already belong to the protocol.
  if (head && head.length) p.write(head)
  socket.setNoDelay(true)
  socket.pipe(p).pipe(socket)
  socket.on('close', () => {
    out({ event: 'closed' })
    process.exit(0)
  })
  socket.on('error', () => {})

  if (conf.role === 'dock') {
    const answer = (op, args) => {
      const cb = args.pop()
      out({ event: 'call', op: op, args: args.map(plain) })
      const failure = (conf.fail || {})[op + ':' + (typeof args[0] === 'string' ? args[0] : '')]
      if (failure) return cb(new Error(failure))
      if (op === 'ps') return cb(null, conf.ps || [{ id: conf.id, list: [] }])
      if (op === 'list') return cb(null, [])
      cb()
    }
    for (const op of ['subscribe', 'unsubscribe', 'update', 'start', 'stop', 'restart', 'sync', 'remove', 'ps', 'list']) {
      p.on(op, function () { answer(op, Array.prototype.slice.call(arguments)) })
    }
  } else {
    for (const op of ['stdout', 'stderr', 'spawn', 'exit']) {
      p.on(op, (id, origin, data) => out({ event: op, id: id, origin: origin, value: plain(data) }))
    }
  }

  const hs = { type: conf.role, version: 'interop' }
  if (conf.role === 'dock') {
    hs.id = conf.id
    hs.hostname = 'host-' + conf.id
    hs.tags = conf.tags || []
    hs.default = !!conf.default
  }
  p.handshake(hs, (err, reply) => {
    out({ event: 'handshake', err: err ? err.message : null, reply: plain(reply) })
    const rl = readline.createInterface({ input: process.stdin })
    rl.on('line', (line) => run(p, JSON.parse(line)))
    // End of input: hang up; 'close' above reports it and exits.
    rl.on('close', () => socket.destroy())
  })
})
req.end()

function run (p, cmd) {
  const args = (cmd.args || []).map(unhex)
  if (cmd.op === 'stream') {
    // count lines of stdout for service `id`, as a busy process would.
    for (let i = 0; i < cmd.count; i++) p.stdout(cmd.id, conf.id, Buffer.from(cmd.id + ' line ' + i + '\n'))
    return out({ event: 'sent', seq: cmd.seq })
  }
  if (['stdout', 'stderr', 'spawn', 'exit'].includes(cmd.op)) {
    p[cmd.op].apply(p, args)
    return out({ event: 'sent', seq: cmd.seq })
  }
  p[cmd.op].apply(p, args.concat([(err, value) => {
    out({ event: 'reply', seq: cmd.seq, op: cmd.op, err: err ? err.message : null, value: plain(value) })
  }]))
}
