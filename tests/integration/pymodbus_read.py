#!/usr/bin/python3
"""Reads the holding registers of tests/integration/pymodbus_server.py back with
pymodbus' own client and BinaryPayloadDecoder, in each value's byte and word
order, and prints them as one JSON object: an independent check of what
fieldgate wrote (tests/integration/pymodbus_test.cpp).

Usage: /usr/bin/python3 pymodbus_read.py PORT
"""
import json
import sys

from pymodbus.client import ModbusTcpClient
from pymodbus.constants import Endian
from pymodbus.payload import BinaryPayloadDecoder

ORDERS = {  # as in pymodbus_server.py
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}

# name: (address, registers, order, decoder method)
MAP = {
    "f32_abcd": (0, 2, "ABCD", "decode_32bit_float"),
    "f32_cdab": (2, 2, "CDAB", "decode_32bit_float"),
    "f32_badc": (4, 2, "BADC", "decode_32bit_float"),
    "f32_dcba": (6, 2, "DCBA", "decode_32bit_float"),
    "i16": (8, 1, "ABCD", "decode_16bit_int"),
    "u16": (9, 1, "ABCD", "decode_16bit_uint"),
    "i32": (10, 2, "ABCD", "decode_32bit_int"),
    "u32_cdab": (12, 2, "CDAB", "decode_32bit_uint"),
    "i64": (14, 4, "ABCD", "decode_64bit_int"),
    "u64_dcba": (18, 4, "DCBA", "decode_64bit_uint"),
    "f64_cdab": (22, 4, "CDAB", "decode_64bit_float"),
    "flags": (32, 1, "ABCD", "decode_16bit_uint"),
    "i16_badc": (33, 1, "BADC", "decode_16bit_int"),
}


def main(port):
    client = ModbusTcpClient("127.0.0.1", port=port)
    if not client.connect():
        sys.exit("cannot connect")
    regs = client.read_holding_registers(0, 34, slave=1).registers
    coils = client.read_coils(0, 3, slave=1).bits[:3]
    client.close()
    out = {}
    for name, (address, count, order, method) in MAP.items():
        byteorder, wordorder = ORDERS[order]
        decoder = BinaryPayloadDecoder.fromRegisters(
            regs[address:address + count], byteorder=byteorder, wordorder=wordorder)
        out[name] = getattr(decoder, method)()
    label = BinaryPayloadDecoder.fromRegisters(
        regs[26:32], byteorder=Endian.Big, wordorder=Endian.Big).decode_string(12)
    out["label"] = label.rstrip(b"\0").decode("ascii")
    out["coils"] = [bool(c) for c in coils]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
