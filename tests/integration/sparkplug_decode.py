#!/usr/bin/python3
"""Decodes Sparkplug B payloads with Google's protobuf runtime (Debian's
python3-protobuf), from message classes protoc generates out of
bridge/sparkplug_b.proto as the specification writes it: a decoder that
shares nothing with fieldgate's protobuf-c code but the schema.

  sparkplug_decode.py PROTO_DIR MESSAGES.json
  sparkplug_decode.py PROTO_DIR --encode PAYLOAD.json


MESSAGES.json: [{"topic": ..., "payload_hex": ...}, ...]. Prints one JSON
array: per message the topic and the decoded payload (timestamp, seq,
metrics with name, alias, timestamp, datatype name, value, is_null,
is_historical, properties). Strings that are not UTF-8 fail the decode
(protobuf's own check), as a host would refuse them.

--encode: PAYLOAD.json is {"metrics": [{"name"|"alias", "datatype", and one
of int_value, long_value, double_value, boolean_value, string_value}]};
prints the payload's bytes in hex (commands as a host would send them).
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    proto_dir, messages_file = sys.argv[1], sys.argv[2]
    out_dir = tempfile.mkdtemp(prefix="sparkplug-py-")
    subprocess.run(["protoc", f"--proto_path={proto_dir}", f"--python_out={out_dir}",
                    os.path.join(proto_dir, "sparkplug_b.proto")], check=True)
    sys.path.insert(0, out_dir)
    import sparkplug_b_pb2 as pb  # noqa: E402 (generated just now)

    def value_of(metric):
        which = metric.WhichOneof("value")
        if which is None:
            return None
        value = getattr(metric, which)
        if which == "int_value" and metric.datatype in (pb.Int8, pb.Int16, pb.Int32):
            bits = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32}[metric.datatype]
            value &= (1 << bits) - 1
            if value >= 1 << (bits - 1):
                value -= 1 << bits
        if which == "long_value" and metric.datatype == pb.Int64 and value >= 1 << 63:
            value -= 1 << 64
        if which == "bytes_value":
            value = value.hex()
        return value

    def properties_of(metric):
        out = {}
        if not metric.HasField("properties"):
            return out
        for key, prop in zip(metric.properties.keys, metric.properties.values):
            which = prop.WhichOneof("value")
            out[key] = getattr(prop, which) if which else None
        return out

    if messages_file == "--encode":
        with open(sys.argv[3], encoding="utf-8") as f:
            spec = json.load(f)
        payload = pb.Payload(timestamp=spec.get("timestamp", 0))
        for m in spec["metrics"]:
            metric = payload.metrics.add()
            for key, value in m.items():
                if key == "datatype":
                    value = pb.DataType.Value(value)
                setattr(metric, key, value)
        print(payload.SerializeToString().hex())
        return

    decoded = []
    with open(messages_file, encoding="utf-8") as f:
        messages = json.load(f)
    for message in messages:
        payload = pb.Payload()
        payload.ParseFromString(bytes.fromhex(message["payload_hex"]))
        metrics = []
        for m in payload.metrics:
            entry = {
                "datatype": pb.DataType.Name(m.datatype) if m.HasField("datatype") else None,
                "value": value_of(m),
                "is_null": m.is_null,
                "is_historical": m.is_historical,
                "properties": properties_of(m),
            }
            if m.HasField("name"):
                entry["name"] = m.name
            if m.HasField("alias"):
                entry["alias"] = m.alias
            if m.HasField("timestamp"):
                entry["timestamp"] = m.timestamp
            metrics.append(entry)
        decoded.append({
            "topic": message["topic"],
            "retained": message.get("retained", False),
            "timestamp": payload.timestamp if payload.HasField("timestamp") else None,
            "seq": payload.seq if payload.HasField("seq") else None,
            "metrics": metrics,
        })
    json.dump(decoded, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
