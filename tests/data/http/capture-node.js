// Records the exact bytes Node's http client and server put on the wire for
// the deploy exchange, into the *.http files beside this script. Run once
// (node capture-node.js, here with Node 20.20.2) and commit the output; the
// codec tests decode these files. Date headers make every run differ.
//
//   node-put-chunked.http       http.request PUT without a length: three
//                               writes become three chunks, end() the last.
//   node-response-trailers.http a server streaming output with res.write()
//                               and an X-Status trailer (res.addTrailers).
//   node-response-x-status.http a server answering with Content-Length and
//                               an X-Status header instead.
//   node-100-continue.http      what a server sends to `Expect:
//                               100-continue`: the interim 100, then the
//                               final response.
'use strict';
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');

const out = (name, bytes) => fs.writeFileSync(path.join(__dirname, name), bytes);

// A TCP server that records one request's bytes and answers a fixed 200.
function recordRequest(send) {
  return new Promise((resolve) => {
    const server = net.createServer((sock) => {
      const parts = [];
      sock.on('data', (d) => {
        parts.push(d);
        const all = Buffer.concat(parts);
        // The last chunk is in. (The second chunk holds these bytes too,
        // so only the end of what arrived counts.)
        if (all.subarray(-7).toString('latin1') === '\r\n0\r\n\r\n') {
          sock.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          server.close();
          resolve(all);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => send(server.address().port));
  });
}

// An http server, and a raw client that records every byte it answers.
function recordResponse(handler, request, afterFirst) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => {
      const sock = net.connect(server.address().port, '127.0.0.1', () => sock.write(request));
      const parts = [];
      sock.on('data', (d) => {
        if (parts.length === 0 && afterFirst) afterFirst(sock);
        parts.push(d);
      });
      sock.on('end', () => {
        server.close();
        resolve(Buffer.concat(parts));
      });
    });
  });
}

(async () => {
  out('node-put-chunked.http', await recordRequest((port) => {
    const req = http.request({ method: 'PUT', host: '127.0.0.1', port, path: '/web' });
    req.on('response', (res) => res.resume());
    req.write('hello ');
    req.write(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x30, 0x0d, 0x0a]));  // gzip magic, CRLF 0 CRLF
    req.end(Buffer.alloc(300, 0x61));  // 300 bytes: a three-digit hex size (12c)
  }));

  const close = 'Connection: close\r\n';
  out('node-response-trailers.http', await recordResponse((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Status' });
    res.write('npm install\n');
    res.write('added 1 package\n');
    res.addTrailers({ 'X-Status': '0' });
    res.end();
  }, `PUT /web HTTP/1.1\r\nHost: 127.0.0.1\r\n${close}Content-Length: 0\r\n\r\n`));

  out('node-response-x-status.http', await recordResponse((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Length': 5, 'X-Status': '0', Location: '/web' });
    res.end('built');
  }, `PUT /web HTTP/1.1\r\nHost: 127.0.0.1\r\n${close}Content-Length: 0\r\n\r\n`));

  out('node-100-continue.http', await recordResponse((req, res) => {
    let n = 0;
    req.on('data', (d) => { n += d.length; });
    req.on('end', () => res.end(`got ${n}\n`));
  }, `PUT /web HTTP/1.1\r\nHost: 127.0.0.1\r\n${close}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
  (sock) => sock.write('hello')));
})();
