#!/usr/bin/python3
"""Reads the four Modbus tables of tests/integration/pymodbus_server.py with
pymodbus' own client and prints them as one JSON object. Run against the
pymodbus server itself and against fieldgate's Modbus server in front of it,
the two outputs must be equal (tests/integration/modbus_server_test.cpp).

Usage: /usr/bin/python3 modbus_server_read.py PORT UNIT
Prints {"hr": [...34], "ir": [...2], "co": [...3], "di": [...2]}, or
{"error": "..."} with the first exception or failure.
"""
import json
import sys

from pymodbus.client import ModbusTcpClient


def main(port, unit):
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    if not client.connect():
        print(json.dumps({"error": "cannot connect"}), flush=True)
        return
    out = {}
    reads = {
        "hr": lambda: client.read_holding_registers(0, 34, slave=unit),
        "ir": lambda: client.read_input_registers(0, 2, slave=unit),
        "co": lambda: client.read_coils(0, 3, slave=unit),
        "di": lambda: client.read_discrete_inputs(0, 2, slave=unit),
    }
    counts = {"hr": 34, "ir": 2, "co": 3, "di": 2}
    for name, read in reads.items():
        try:
            r = read()
        except Exception as e:  # a timeout or a closed connection
            out = {"error": f"{name}: {e}"}
            break
        if r.isError():
            out = {"error": f"{name}: {r}"}
            break
        if name in ("hr", "ir"):
            out[name] = list(r.registers)
        else:
            out[name] = [int(b) for b in r.bits[:counts[name]]]
    client.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
