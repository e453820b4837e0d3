#!/usr/bin/env node
// The independent Sparkplug B host of fieldgate's tests: payloads decoded and
// encoded by the Sparkplug project's own JavaScript library (Eclipse Tahu's
// `sparkplug-payload` from the npm registry, with its own copy of the
// specification's .proto compiled by protobuf.js). It shares nothing with
// fieldgate: not our .proto, not our protobuf-c code, so a wrong field number
// or datatype on our side fails here.
//
//   node sparkplug_host.js NODE_MODULES decode MESSAGES.json
//   node sparkplug_host.js NODE_MODULES encode PAYLOAD.json
//   node sparkplug_host.js NODE_MODULES stream   (lines "TOPIC HEX" on stdin)
//
// NODE_MODULES: where scripts/test installed the library (the build tree's
// sparkplug-host/node_modules).
//
// decode: MESSAGES.json is [{"topic", "payload_hex", "retained"}, ...]; prints
// one JSON array, per message the topic, retained, timestamp, seq and
// metrics (name, alias, timestamp, datatype, value, is_null, is_historical,
// properties as {key: value}).
//
// encode: PAYLOAD.json is {"metrics": [{"name"|"alias", "type", "value"}]}
// (the library's own form); prints the payload's bytes in hex, as a host
// would send an NCMD or DCMD.
//
// stream: for the demo; each input line "TOPIC HEX" (mosquitto_sub -F '%t %x')
// printed as the topic and its decoded payload, until end of input.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const [modules, mode, file] = process.argv.slice(2);
const sparkplug = require(path.join(modules, 'sparkplug-payload')).get('spBv1.0');

// protobuf.js gives 64-bit fields as Long objects: numbers where exact,
// else their decimal text.
function plain(value) {
  if (value !== null && typeof value === 'object' && typeof value.toNumber === 'function') {
    const n = value.toNumber();
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

function metricOf(m) {
  const out = {
    datatype: m.type,
    value: plain(m.value),
    is_null: m.value === null,
    is_historical: m.isHistorical === true,
    properties: {},
  };
  for (const [key, prop] of Object.entries(m.properties || {})) out.properties[key] = plain(prop.value);
  if (m.name !== undefined) out.name = m.name;
  if (m.alias !== undefined) out.alias = plain(m.alias);
  if (m.timestamp !== undefined) out.timestamp = plain(m.timestamp);
  return out;
}

function decoded(topic, bytes, retained) {
  const p = sparkplug.decodePayload(bytes);
  return {
    topic,
    retained: retained === true,
    timestamp: p.timestamp === undefined ? null : plain(p.timestamp),
    seq: p.seq === undefined ? null : plain(p.seq),
    metrics: (p.metrics || []).map(metricOf),
  };
}

if (mode === 'decode') {
  const messages = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = messages.map((m) => decoded(m.topic, Buffer.from(m.payload_hex, 'hex'), m.retained));
  process.stdout.write(JSON.stringify(out) + '\n');
} else if (mode === 'encode') {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bytes = sparkplug.encodePayload({timestamp: spec.timestamp || Date.now(), metrics: spec.metrics});
  process.stdout.write(Buffer.from(bytes).toString('hex') + '\n');
} else if (mode === 'stream') {
  const lines = readline.createInterface({input: process.stdin});
  lines.on('line', (line) => {
    const [topic, hex = ''] = line.split(' ');
    try {
      process.stdout.write(JSON.stringify(decoded(topic, Buffer.from(hex, 'hex'))) + '\n');
    } catch (e) {
      process.stdout.write(`${topic}: not a Sparkplug B payload (${e.message})\n`);
    }
  });
} else {
  process.stderr.write('usage: sparkplug_host.js NODE_MODULES decode|encode|stream [FILE]\n');
  process.exit(2);
}
