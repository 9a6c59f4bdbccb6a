// Regenerates the expected renderings of trees.json with the reference's
// pretty-tree (run with --no-color / --color switched below):
//   NODE_PATH=build/node/node_modules node gen_trees.js
process.argv.push('--no-color');
const tree=require('pretty-tree');
const cases = {
  list: {label:'hello', leaf:{start:'node app.js', build:'sh build.sh', limit:1, tags:['web'], env:{}}},
  env: {label:'myapp', leaf:{start:'node server.js', build:'sh build.sh', tags:['web'], env:{PORT:'8080', GREETING:'hello world'}}},
  ps: {label:'dock1', nodes:[{label:'myapp', leaf:{status:'running', cwd:'builds/x', command:'node server.js', pid:5907, started:'just now', deployed:'just now', env:{SERVICE_NAME:'myapp', PORT:'8080'}}}]},
  emptydock: {label:'dock-a', nodes:[]},
  multiline: {label:'m', leaf:{start:'line1\nline2', b:'x'}},
  numbers: {label:'n', leaf:{'2':'two','b':'bee','1':'one', nested:{x:null, y:true, z:1.5e300}}},
  arrayobj: {label:'a', leaf:{list:[{a:1,b:2},'s',[1,2]]}},
  arrayobj2: {label:'a', leaf:{list:[{a:1}]}},
  remote: {label:'k', leaf:{url:'127.0.0.1:22002', key:'/root/.ssh/id_rsa', passphrase:'secret', cache:{}}},
  nolabel: {nodes:[{label:'x'}]},
};
const out={};
for (const k in cases) out[k]=tree(JSON.parse(JSON.stringify(cases[k]))).trim()+'\n\n';
console.log(JSON.stringify(out, null, 1));
