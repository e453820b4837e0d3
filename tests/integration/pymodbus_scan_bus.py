#!/usr/bin/python3
"""A Modbus bus for `fieldgate scan`, served by pymodbus (not fieldgate's code).

Three meters, one dead unit id and one unit that answers garbage. Every
register word is written out by hand here (never by fieldgate's encoder):

  unit 1  Eastron SDM630, its own word order (ABCD), input registers:
          0: 230.5 V as float32 ABCD = 0x4366 0x8000
          0x46: 50.0 Hz as float32 ABCD = 0x4248 0x0000
  unit 2  Eastron SDM630 set to CDAB (words swapped):
          0: 0x8000 0x4366, 0x46: 0x0000 0x4248
  unit 3  Carlo Gavazzi EM340, int32 low word first (CDAB), x0.1:
          0: 231.2 V = 2312 = 0x0908 -> 0x0908 0x0000
          0x33: 49.9 Hz as int16 x0.1 = 499 = 0x01F3
  unit 4  not on the bus (silent)
  unit 5  answers every read with 0xDEAD 0xBEEF ... (garbage)

The mirror of this map is in tests/integration/scan_test.cpp.

Usage: /usr/bin/python3 pymodbus_scan_bus.py rtu TTY BAUD | tcp PORT
(prints "ready" once serving)
"""
import asyncio
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.device import ModbusDeviceIdentification
from pymodbus.transaction import ModbusRtuFramer
from pymodbus.server import StartAsyncSerialServer

from pymodbus_serve import serve_tcp


def block(words):
    """Input registers 0..0x4F, zero unless given: {address: word}."""
    regs = [0] * 0x50
    for address, word in words.items():
        regs[address] = word
    return regs


def meter(inputs):
    return ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, [0] * 4),
        ir=ModbusSequentialDataBlock(0, block(inputs)),
        zero_mode=True,
    )


def garbage():
    words = [0xDEAD, 0xBEEF] * 0x80
    return ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, words),
        ir=ModbusSequentialDataBlock(0, words),
        zero_mode=True,
    )


def context():
    return ModbusServerContext(
        slaves={
            1: meter({0x00: 0x4366, 0x01: 0x8000, 0x46: 0x4248, 0x47: 0x0000}),
            2: meter({0x00: 0x8000, 0x01: 0x4366, 0x46: 0x0000, 0x47: 0x4248}),
            3: meter({0x00: 0x0908, 0x01: 0x0000, 0x33: 0x01F3}),
            5: garbage(),
        },
        single=False,
    )


def identity():
    ident = ModbusDeviceIdentification()
    ident.VendorName = "Eastron"
    ident.ProductCode = "SDM630"
    ident.MajorMinorRevision = "2.0"
    return ident


async def main(argv):
    if argv[1] == "rtu":
        server = await StartAsyncSerialServer(
            context=context(),
            framer=ModbusRtuFramer,
            port=argv[2],
            baudrate=int(argv[3]),
            ignore_missing_slaves=True,
            defer_start=True,
        )
        await server.start()
        print("ready", flush=True)
        await server.serve_forever()
    else:
        await serve_tcp(context(), int(argv[2]), identity=identity(), ignore_missing_slaves=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
