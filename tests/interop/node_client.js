'use strict'
// Reference-side client for the interop tests:
//   node node_client.js raw PORT       frames from the first byte
//   node node_client.js connect PORT   HTTP CONNECT first, as a reference
//                                      dock does (lib/client.js), origin
//                                      header included
// Connects to 127.0.0.1:PORT and drives the connection with the agent.
const http = require('http')
const net = require('net')
const agent = require('./agent')

const mode = process.argv[2]
const port = Number(process.argv[3])
if ((mode !== 'raw' && mode !== 'connect') || !port) {
  process.stderr.write('usage: node_client.js raw|connect PORT\n')
  process.exit(2)
}

const fail = (what) => (err) => {
  agent.out({fatal: what + ': ' + err.message})
  process.exit(2)
}

agent.start()
if (mode === 'connect') {
  const req = http.request({
    method: 'CONNECT',
    host: '127.0.0.1',
    port: port,
    path: '/',
    headers: {origin: 'dock-a'}
  })
  req.on('error', fail('CONNECT'))
  req.on('connect', (res, socket, head) => {
    agent.run(socket, head, {status: res.statusCode, headers: res.headers})
  })
  req.end()
} else {
  const socket = net.connect(port, '127.0.0.1')
  const onError = fail('connect')
  socket.once('error', onError)
  socket.on('connect', () => {
    socket.removeListener('error', onError)
    agent.run(socket, null, {})
  })
}
