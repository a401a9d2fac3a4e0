// An etl transform plugin written in JavaScript, from
// core/plugin/pb/PROTOCOL.md alone: it speaks the go-plugin handshake and
// etl's gRPC services, and reads and writes batches as Apache Arrow IPC.
//
// wordcount adds the column <column>_words (int64): the number of words of
// the text column `column`, and refuses rows with more than `max_words`
// words (error type TOO_MANY_WORDS), keeping their raw input text.
//
//   transforms:
//     - plugin: wordcount        # etl-plugin-wordcount on the plugin path
//       config: {column: product_name, max_words: 4}
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const arrow = require('apache-arrow');
const YAML = require('yaml');

// The protocol version this plugin speaks (PROTOCOL.md, "Versions").
const PROTOCOL_VERSION = 2;
const COOKIE_KEY = 'ETL_PLUGIN_MAGIC_COOKIE';
const COOKIE_VALUE = 'a1f6e3c2-etl-plugin';
// The reserved columns every batch ends with (PROTOCOL.md, "Batches").
const RESERVED = ['_etl_source', '_etl_line', '_etl_raw'];
// FieldType of etl's schema messages (plugin.proto, enum FieldType).
const STRING = 0;
const INT64 = 1;

const here = __dirname;
const protoDir = process.env.ETL_PROTO_DIR || path.join(here, '..', '..', '..', 'core', 'plugin', 'pb');
const loadOptions = { keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true };
const etl = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(protoDir, 'plugin.proto'), loadOptions)).etl.plugin.v1;
const health = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(here, 'health.proto'), loadOptions)).grpc.health.v1;
const controller = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(here, 'controller.proto'), loadOptions)).plugin;

// log writes one JSON line on stderr in the shape etl reads plugin logs in.
function log(level, message, attrs = {}) {
  process.stderr.write(JSON.stringify({ '@level': level, '@message': message, '@timestamp': new Date().toISOString(), '@module': 'wordcount', ...attrs }) + '\n');
}

// The transform's state, set by Configure.
const state = { column: '', maxWords: 0, out: '', inSchema: null };

function configure(req) {
  const errors = [];
  let cfg = {};
  try {
    cfg = YAML.parse(req.raw.toString('utf8')) || {};
  } catch (e) {
    return { errors: [{ path: '', message: `config is not YAML: ${e.message}` }] };
  }
  for (const key of Object.keys(cfg)) {
    if (key !== 'column' && key !== 'max_words') errors.push({ path: key, message: `unknown key "${key}"` });
  }
  const fields = (req.input && req.input.fields) || [];
  const column = cfg.column;
  const field = fields.find((f) => f.name === column);
  if (typeof column !== 'string' || column === '') {
    errors.push({ path: 'column', message: 'required: the text field whose words are counted' });
  } else if (!field) {
    errors.push({ path: 'column', message: `"${column}" is not an input field (the input has ${fields.map((f) => f.name).join(', ')})` });
  } else if (field.type !== STRING) {
    errors.push({ path: 'column', message: `"${column}" is not a string field`, field: column });
  }
  const maxWords = cfg.max_words === undefined ? 10 : cfg.max_words;
  if (!Number.isInteger(maxWords) || maxWords < 1) {
    errors.push({ path: 'max_words', message: `${JSON.stringify(cfg.max_words)} is not a whole number >= 1` });
  }
  const out = `${column}_words`;
  if (fields.some((f) => f.name === out)) errors.push({ path: 'column', message: `the input already has a field "${out}"` });
  const schema = { fields: [...fields, { name: out, type: INT64, scale: 0, nullable: false }] };
  if (errors.length === 0) Object.assign(state, { column, maxWords, out, inSchema: fields });
  return { schema, errors };
}

function words(text) {
  if (text === null || text === undefined) return 0;
  const t = String(text).trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

// process reads a batch, keeps the rows within max_words with their count
// appended before the reserved columns, and refuses the others.
function processBatch(req) {
  const data = req.batch && req.batch.arrow;
  if (!data || data.length === 0) return { batch: { arrow: Buffer.alloc(0) }, rejects: [] };
  const table = arrow.tableFromIPC(data);
  const col = table.getChild(state.column);
  const source = table.getChild('_etl_source');
  const line = table.getChild('_etl_line');
  const raw = table.getChild('_etl_raw');
  const keep = [];
  const counts = [];
  const rejects = [];
  for (let i = 0; i < table.numRows; i++) {
    const n = words(col.get(i));
    if (n > state.maxWords) {
      rejects.push({
        source: Buffer.from(String(source.get(i) ?? '')),
        line: Number(line.get(i)),
        raw: Buffer.from(raw.get(i) ?? []),
        error_type: 'TOO_MANY_WORDS',
        reason: Buffer.from(`${state.column}: ${n} words, more than max_words ${state.maxWords}`),
      });
      continue;
    }
    keep.push(i);
    counts.push(BigInt(n));
  }
  // The output: the data fields, the new one, then the reserved columns,
  // each field keeping its metadata (etl.type and the like).
  const fields = table.schema.fields;
  const dataFields = fields.filter((f) => !RESERVED.includes(f.name));
  const reservedFields = RESERVED.map((name) => fields.find((f) => f.name === name));
  const columns = {};
  const outFields = [];
  for (const f of [...dataFields, null, ...reservedFields]) {
    if (f === null) {
      const b = arrow.makeBuilder({ type: new arrow.Int64(), nullValues: [null, undefined] });
      for (const c of counts) b.append(c);
      columns[state.out] = b.finish().toVector();
      outFields.push(new arrow.Field(state.out, new arrow.Int64(), false, new Map([['etl.type', 'int64']])));
      continue;
    }
    const v = table.getChild(f.name);
    const b = arrow.makeBuilder({ type: f.type, nullValues: [null, undefined] });
    for (const i of keep) b.append(v.get(i));
    columns[f.name] = b.finish().toVector();
    outFields.push(f);
  }
  const schema = new arrow.Schema(outFields, table.schema.metadata);
  const batch = new arrow.RecordBatch(schema, arrow.makeData({
    type: new arrow.Struct(outFields), length: keep.length, nullCount: 0,
    children: outFields.map((f) => columns[f.name].data[0]),
  }));
  const out = arrow.tableToIPC(new arrow.Table(schema, [batch]), 'stream');
  return { batch: { arrow: Buffer.from(out) }, rejects };
}

function unary(fn) {
  return (call, callback) => {
    try {
      callback(null, fn(call.request));
    } catch (e) {
      log('error', `wordcount: ${e.message}`);
      callback({ code: grpc.status.UNKNOWN, details: `wordcount: ${e.message}` });
    }
  };
}

function main() {
  if (process.env[COOKIE_KEY] !== COOKIE_VALUE) {
    process.stderr.write('This is an etl plugin: etl starts it; it is not meant to be run by hand.\n');
    process.exit(1);
  }
  const dir = process.env.PLUGIN_UNIX_SOCKET_DIR || fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'plugin'));
  const socket = path.join(dir, `plugin-wordcount-${process.pid}.sock`);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 256 << 20, 'grpc.max_send_message_length': 256 << 20 });
  server.addService(health.Health.service, {
    Check: (call, cb) => cb(null, { status: 1 }),
  });
  server.addService(controller.GRPCController.service, {
    Shutdown: (call, cb) => { cb(null, {}); setImmediate(() => process.exit(0)); },
  });
  server.addService(etl.Info.service, {
    Describe: unary(() => ({ name: 'wordcount', version: '1.0.0', kinds: ['transform'] })),
  });
  server.addService(etl.Transform.service, {
    Configure: unary(configure),
    Process: unary(processBatch),
    Close: unary(() => ({})),
  });
  server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      process.stderr.write(`wordcount: listen on ${socket}: ${err.message}\n`);
      process.exit(1);
    }
    // The handshake line: core protocol 1, etl protocol, where, grpc.
    process.stdout.write(`1|${PROTOCOL_VERSION}|unix|${socket}|grpc\n`);
  });
  // No plugin outlives its engine: exit when the parent goes.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(3); }, 200).unref();
}

main();
