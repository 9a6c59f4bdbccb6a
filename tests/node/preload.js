// Loaded with `node -r` before the reference hms 0.4.4 (terminal, dock, CLI)
// so that it runs on Node 20. hms 0.4.4 was written for Node 0.10; four
// things it relies on are gone or changed:
const events = require('events')

// 1. The `root` module (the terminal's and dock's HTTP router) extends
//    process.EventEmitter, removed from Node long ago.
process.EventEmitter = events
process.EventEmitter.EventEmitter = events

// 2. Deploy and the terminal build in os.tmpDir(), renamed os.tmpdir().
const os = require('os')
os.tmpDir = os.tmpdir

// 3. The terminal answers a deploy of a service without a build script with
//    204 after announcing a `Trailer: X-Status` header; Node now throws
//    ERR_HTTP_TRAILER_INVALID for a trailer on a body-less status and the
//    terminal dies. Drop the announcement for 204 and 304.
const http = require('http')
const writeHead = http.ServerResponse.prototype.writeHead
http.ServerResponse.prototype.writeHead = function (status) {
  if ((status === 204 || status === 304) && this.hasHeader('trailer')) this.removeHeader('trailer')
  return writeHead.apply(this, arguments)
}

// 4. A child whose binary does not exist has pid undefined on Node 20; the
//    dock sends that as an empty spawn payload and the receiving terminal or
//    CLI dies in JSON.parse(''). Send null instead.
//    (Resolved from the script node runs, hms' own bin/, so that the copy hms
//    loads is the one patched.)
const path = require('path')
const Protocol = require(require.resolve('hms-protocol', { paths: [path.dirname(process.argv[1] || '.')] }))
const spawn = Protocol.prototype.spawn
Protocol.prototype.spawn = function (id, origin, pid) {
  return spawn.call(this, id, origin, pid === undefined ? null : pid)
}
