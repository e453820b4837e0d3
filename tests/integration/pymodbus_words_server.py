#!/usr/bin/python3
"""A Modbus TCP server on pymodbus holding register words a test wrote out by hand.

pymodbus is an implementation nobody on fieldgate wrote; the words come from
the test (tests/integration/model_pymodbus_test.cpp), each with the value it
stands for. One unit id per entry of FILE; every unit has all 65536 input and
holding registers, 0 where FILE says nothing.

FILE (JSON): {"UNIT": {"input": [[ADDRESS, [WORD, ...]], ...], "holding": [...]}, ...}

Usage: /usr/bin/python3 pymodbus_words_server.py PORT FILE   (prints "ready" once listening)
"""
import asyncio
import json
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)

from pymodbus_serve import serve_tcp

TABLE = 65536


def table(runs):
    words = [0] * TABLE
    for address, values in runs:
        assert 0 <= address and address + len(values) <= TABLE, (address, values)
        for i, word in enumerate(values):
            assert 0 <= word <= 0xFFFF, word
            words[address + i] = word
    return ModbusSequentialDataBlock(0, words)


def unit(spec):
    return ModbusSlaveContext(
        ir=table(spec.get("input", [])),
        hr=table(spec.get("holding", [])),
        zero_mode=True,  # address 0 is the first value, as on the wire
    )


async def main(port, path):
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    slaves = {int(unit_id): unit(tables) for unit_id, tables in spec.items()}
    await serve_tcp(ModbusServerContext(slaves=slaves, single=False), port)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
