// The reference pair of the attack suite: a dock or a client on npm
// hms-protocol 1.2.3, connected the way the reference hms connects (HTTP
// CONNECT, then the protocol on the socket), streaming sequence-numbered
// lines through the hub while the attacks run.
//
//   node ref_peer.js '{"port":N,"role":"dock"|"client","id":"ref-dock",
//                      "tags":["ref"],"service":"ref"}'
//
// dock: answers every command the hub sends (ps with its own entry), and on
//   {"op":"stream","interval":ms,"batch":n} writes `batch` stdout lines for
//   `service` every `interval` ms, payload "<service> <seq>\n", seq from 0.
//   {"op":"mark"} -> {"event":"mark","sent":<lines written so far>}
//   Prints {"event":"call","op":"subscribe"|"unsubscribe","args":[service]}
//   for the subscription calls on its own service only (the other calls are
//   counted, not printed).
// client: {"op":"call","seq":n,"name":"add","args":[...]} runs a protocol
//   call -> {"event":"reply","seq":n,"err":..,"value":..};
//   {"op":"report"} -> {"event":"report","received":n,"last":seq,
//   "errors":n,"first_error":".."}: the `service` lines it received, checked
//   for order and gaps here, so the pipe to the test stays quiet.
// Both print {"event":"handshake",...} once and {"event":"closed"} when the
// connection ends (then exit). A hub reply the reference cannot parse
// throws, as it would in hms: the process dies and the test sees it.
'use strict'

const http = require('http')
const readline = require('readline')
const protocol = require('hms-protocol')

const conf = JSON.parse(process.argv[2])
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const service = conf.service || 'ref'

const headers = conf.role === 'dock' ? { origin: conf.id } : {}
const req = http.request({ method: 'CONNECT', host: '127.0.0.1', port: conf.port, path: '/', headers: headers })
req.on('error', (err) => {
  out({ event: 'error', message: err.message })
  process.exit(1)
})

req.on('connect', (res, socket, head) => {
  const p = protocol()
  if (head && head.length) p.write(head)
  socket.setNoDelay(true)
  socket.pipe(p).pipe(socket)
  socket.on('close', () => {
    out({ event: 'closed' })
    process.exit(0)
  })
  socket.on('error', () => {})

  let sent = 0
  let timer = null
  const calls = {}
  let received = 0
  let last = -1
  let errors = 0
  let firstError = null

  if (conf.role === 'dock') {
    const answer = (op, args) => {
      const cb = args.pop()
      calls[op] = (calls[op] || 0) + 1
      if ((op === 'subscribe' || op === 'unsubscribe') && args[0] === service) out({ event: 'call', op: op, args: args })
      if (op === 'ps') return cb(null, [{ id: conf.id, hostname: 'host-' + conf.id, tags: conf.tags || [], list: [] }])
      if (op === 'list') return cb(null, [])
      cb()
    }
    for (const op of ['subscribe', 'unsubscribe', 'update', 'start', 'stop', 'restart', 'sync', 'remove', 'ps', 'list']) {
      p.on(op, function () { answer(op, Array.prototype.slice.call(arguments)) })
    }
  } else {
    p.on('stdout', (id, origin, data) => {
      if (id !== service) return
      const text = data.toString()
      const m = /^(\S+) (\d+)\n$/.exec(text)
      const seq = m && m[1] === service ? Number(m[2]) : NaN
      received++
      if (seq !== last + 1) {
        errors++
        if (firstError === null) firstError = 'after ' + last + ' got ' + JSON.stringify(text) + ' from ' + origin
      }
      if (!Number.isNaN(seq)) last = seq
    })
  }

  const hs = { type: conf.role, version: 'attack' }
  if (conf.role === 'dock') {
    hs.id = conf.id
    hs.hostname = 'host-' + conf.id
    hs.tags = conf.tags || []
    hs.default = false
  }
  p.handshake(hs, (err, reply) => {
    out({ event: 'handshake', err: err ? err.message : null, reply: reply === undefined ? null : reply })
    const rl = readline.createInterface({ input: process.stdin })
    rl.on('close', () => socket.destroy())
    rl.on('line', (line) => {
      const cmd = JSON.parse(line)
      if (cmd.op === 'stream') {
        if (timer) clearInterval(timer)
        timer = setInterval(() => {
          for (let i = 0; i < cmd.batch; i++) p.stdout(service, conf.id, Buffer.from(service + ' ' + sent++ + '\n'))
        }, cmd.interval)
        return out({ event: 'streaming' })
      }
      if (cmd.op === 'mark') return out({ event: 'mark', sent: sent, calls: calls })
      if (cmd.op === 'report') {
        return out({ event: 'report', received: received, last: last, errors: errors, first_error: firstError })
      }
      if (cmd.op === 'call') {
        return p[cmd.name].apply(p, (cmd.args || []).concat([(e, value) => {
          out({ event: 'reply', seq: cmd.seq, err: e ? e.message : null, value: value === undefined ? null : value })
        }]))
      }
      out({ event: 'error', message: 'unknown op ' + cmd.op })
    })
  })
})
req.end()
