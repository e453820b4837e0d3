#!/usr/bin/python3
"""A Modbus TCP server on pymodbus: an implementation nobody on fieldgate wrote.

Values are encoded with pymodbus' own BinaryPayloadBuilder in every byte and
word order, so fieldgate's decoder is checked against an independent encoder.
The map is mirrored in tests/integration/pymodbus_test.cpp.

Usage: /usr/bin/python3 pymodbus_server.py PORT   (prints "ready" once listening)
"""
import asyncio
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.payload import BinaryPayloadBuilder

from pymodbus_serve import serve_tcp

ORDERS = {  # fieldgate name -> (byteorder, wordorder) in pymodbus terms
    "ABCD": (Endian.Big, Endian.Big),
    "CDAB": (Endian.Big, Endian.Little),
    "BADC": (Endian.Little, Endian.Big),
    "DCBA": (Endian.Little, Endian.Little),
}


def regs(order, add):
    byteorder, wordorder = ORDERS[order]
    builder = BinaryPayloadBuilder(byteorder=byteorder, wordorder=wordorder)
    add(builder)
    return builder.to_registers()


def holding_registers():
    r = []
    r += regs("ABCD", lambda b: b.add_32bit_float(230.5))        # 0
    r += regs("CDAB", lambda b: b.add_32bit_float(230.5))        # 2
    r += regs("BADC", lambda b: b.add_32bit_float(230.5))        # 4
    r += regs("DCBA", lambda b: b.add_32bit_float(230.5))        # 6
    r += regs("ABCD", lambda b: b.add_16bit_int(-1234))          # 8
    r += regs("ABCD", lambda b: b.add_16bit_uint(65000))         # 9
    r += regs("ABCD", lambda b: b.add_32bit_int(-123456))        # 10
    r += regs("CDAB", lambda b: b.add_32bit_uint(4000000000))    # 12
    r += regs("ABCD", lambda b: b.add_64bit_int(-9876543210))    # 14
    r += regs("DCBA", lambda b: b.add_64bit_uint(1234567890123)) # 18
    r += regs("CDAB", lambda b: b.add_64bit_float(-0.015625))    # 22
    r += regs("ABCD", lambda b: b.add_string(b"PYMODBUS-01\0"))  # 26..31
    r += [0b1010]                                                # 32: bit 1 set, bit 0 clear
    r += regs("BADC", lambda b: b.add_16bit_int(-2))             # 33
    assert len(r) == 34, len(r)
    return r


async def main(port):
    store = ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [True, False, True]),
        di=ModbusSequentialDataBlock(0, [False, True]),
        hr=ModbusSequentialDataBlock(0, holding_registers()),
        ir=ModbusSequentialDataBlock(0, regs("ABCD", lambda b: b.add_32bit_float(49.98))),
        zero_mode=True,  # address 0 is the first value, as on the wire
    )
    await serve_tcp(ModbusServerContext(slaves=store, single=True), port)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
