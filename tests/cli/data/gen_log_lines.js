// Regenerates the "events"/"plain"/"color" of log_lines.json with the reference
// (run twice: `plain` and `color`):
//   NODE_PATH=build/node/node_modules node gen_log_lines.js plain|color
const color = process.argv[2] === 'color';
process.argv.push(color ? '--color' : '--no-color');
const EventEmitter = require('events');
const logStream = require('hms/lib/log-stream');
const events = [
  ['stdout','web','dock-a', 'tick 1\n'],
  ['stdout','web','dock-a', 'a\nb\n'],
  ['stderr','web','dock-a', '  padded  \n\n'],
  ['stdout','web','dock-a', ''],
  ['stdout','web','dock-a', '   \n  '],
  ['spawn','web','dock-a', 1234],
  ['exit','web','dock-a', null],
  ['exit','web','dock-a', 'SIGTERM'],
  ['exit','web','dock-a', 0],
  ['stdout','longer-service','d2', 'x\r\ny\r\n'],
  ['stdout','web','dock-a', 'after growth\n'],
  ['stdout','w','a-much-longer-dock', 'inner\n\n\nblank\n'],
  ['stdout','web','dock-a', Buffer.from([0x61,0xff,0x62,0x0a])],
  ['stdout','web','dock-a', '\u00e9t\u00e9 \u2028unicode\u3000'],
  ['stdout','sv\u00e9','d\u00f6ck', 'utf8 ids\n'],
];
const c = new EventEmitter();
const out = logStream(c);
let text = '';
out.on('data', d => text += d.toString());
for (const [t, id, origin, data] of events) c.emit(t, id, origin, (t === 'spawn' || t === 'exit') ? data : (typeof data === 'string' ? Buffer.from(data) : data));
setImmediate(() => {
  console.log(JSON.stringify({events: events.map(([t,id,o,d]) => [t,id,o, (t === 'spawn' || t === 'exit') ? JSON.stringify(d) : (Buffer.isBuffer(d) ? d : Buffer.from(d)).toString('base64')]), output: text}));
});
