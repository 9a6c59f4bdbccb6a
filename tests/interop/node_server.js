'use strict'
// Reference-side server for the interop tests:
//   node node_server.js raw       frames from the first byte (net server)
//   node node_server.js connect   HTTP CONNECT upgrade, as the reference
//                                 terminal does it (commands/terminal.js)
// Prints the port it listens on (127.0.0.1, port 0) as the first line, then
// serves one connection with the agent (see agent.js).
const http = require('http')
const net = require('net')
const agent = require('./agent')

const mode = process.argv[2]
if (mode !== 'raw' && mode !== 'connect') {
  process.stderr.write('usage: node_server.js raw|connect\n')
  process.exit(2)
}

// The reference terminal's reply, byte for byte (its spelling included).
const HANDSHAKE =
  'HTTP/1.1 101 Swiching Protocols\r\n' +
  'Upgrade: hms-protocol\r\n' +
  'Connection: Upgrade\r\n\r\n'

let served = false
// Each test talks to one peer; a second connection would be a test bug.
const serve = (socket, head, info) => {
  if (served) {
    agent.out({fatal: 'second connection'})
    return socket.destroy()
  }
  served = true
  agent.run(socket, head, info)
}

let server
if (mode === 'connect') {
  server = http.createServer((req, res) => res.end('hms-terminal 0.4.4\n'))
  server.on('connect', (req, socket, head) => {
    socket.write(HANDSHAKE)
    serve(socket, head, {
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      origin: req.headers.origin === undefined ? null : req.headers.origin,
      host: req.headers.host === undefined ? null : req.headers.host
    })
  })
} else {
  server = net.createServer((socket) => serve(socket, null, {}))
}
server.on('error', (err) => {
  agent.out({fatal: 'listen: ' + err.message})
  process.exit(2)
})
server.listen(0, '127.0.0.1', () => {
  agent.out(server.address().port)
  agent.start()
})
