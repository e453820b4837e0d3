#!/usr/bin/python3
"""A SunSpec device on pymodbus: a model chain written out by hand, word by word.

pymodbus is an implementation nobody on fieldgate wrote, and nothing here comes
from fieldgate's tables or encoder: every value is the register words a device
would hold, with the engineering value it stands for in the comment. The
expected readings are in tests/integration/sunspec_test.cpp.

    40000  "SunS"
    40002  model 1 (common), L 66
    40070  model 64999 (unknown to fieldgate), L 4: skipped by its length
    40076  model 103 (three-phase inverter, integers + scale factors), L 50
    40128  model 160 (MPPT, 2 modules), L 48
    40178  model 213 (three-phase meter, float32), L 124
    40304  0xFFFF 0x0000: end

Usage: /usr/bin/python3 pymodbus_sunspec_server.py PORT   (prints "ready" once listening)
"""
import asyncio
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)

from pymodbus_serve import serve_tcp

NI16 = 0x8000    # int16 / sunssf not implemented
NIU16 = 0xFFFF   # uint16 / enum16 not implemented
NAN = [0x7FC0, 0x0000]  # float32 not implemented


def text(s, registers):
    """ASCII, two characters a register, NUL-padded."""
    b = s.encode("ascii").ljust(2 * registers, b"\0")
    return [(b[i] << 8) | b[i + 1] for i in range(0, len(b), 2)]


def common():
    r = [1, 66]
    r += text("SunSpecTest", 16)   # Mn
    r += text("PY-INV-3", 16)      # Md
    r += text("", 8)               # Opt: not implemented
    r += text("2.1", 8)            # Vr
    r += text("SN-0001", 16)       # SN
    r += [NIU16, 0]                # DA not implemented, Pad
    assert len(r) == 68
    return r


def inverter_103():
    r = [103, 50]
    r += [1234, 411, NIU16, NIU16, 0xFFFE]  # A 12.34 A, AphA 4.11 A, AphB/C n/i, A_SF -2
    r += [NIU16, NIU16, NIU16]              # PPVphAB/BC/CA n/i
    r += [2301, NIU16, NIU16, 0xFFFF - 0]   # PhVphA 230.1 V, B/C n/i, V_SF = -1 (0xFFFF)
    r += [300, 1]                           # W 300 with W_SF 1 = 3000 W
    r += [5001, 0xFFFE]                     # Hz 50.01 Hz (Hz_SF -2)
    r += [NI16, 0]                          # VA n/i, VA_SF 0
    r += [NI16, 0]                          # VAr n/i, VAr_SF 0
    r += [NI16, 0xFFFF]                     # PF n/i, PF_SF -1
    r += [0x0012, 0xD687, 0]                # WH acc32 1234567 Wh, WH_SF 0
    r += [NIU16, 0xFFFE]                    # DCA n/i, DCA_SF -2
    r += [6200, NI16]                       # DCV 6200 but DCV_SF n/i: no value
    r += [3100, 11]                         # DCW 3100, DCW_SF 11: out of range, no value
    r += [355, NI16, NI16, NI16, 0xFFFF]    # TmpCab 35.5 C, Snk/Trns/Ot n/i, Tmp_SF -1
    r += [4, NIU16]                         # St 4 (MPPT), StVnd n/i
    r += [0, 0, 0xFFFF, 0xFFFF]             # Evt1 0, Evt2 n/i
    r += [0xFFFF] * 8                       # EvtVnd1..4 n/i
    assert len(r) == 52, len(r)
    return r


def mppt_160():
    r = [160, 48]
    r += [0xFFFE, 0xFFFF, 0, 0]             # DCA_SF -2, DCV_SF -1, DCW_SF 0, DCWH_SF 0
    r += [0, 0, 2, NIU16]                   # Evt 0, N 2, TmsPer n/i
    r += [1] + text("PV1", 8)               # module 1: ID, IDStr
    r += [512, 6400, 3277]                  # DCA 5.12 A, DCV 640.0 V, DCW 3277 W
    r += [0x0001, 0x86A0]                   # DCWH 100000 Wh
    r += [0xFFFF, 0xFFFF, NI16, 4, 0, 0]    # Tms n/i, Tmp n/i, DCSt 4, DCEvt 0
    r += [2] + text("PV2", 8)               # module 2
    r += [NIU16, 6000, 1500]                # DCA n/i, DCV 600.0 V, DCW 1500 W
    r += [0, 0]                             # DCWH acc32 0: not accumulated
    r += [0xFFFF, 0xFFFF, NI16, 4, 0, 0]
    assert len(r) == 50, len(r)
    return r


def meter_213():
    r = [213, 124]
    body = NAN * 61 + [0xFFFF, 0xFFFF]      # 61 float32, then Evt (bitfield32) n/i
    body[0:2] = [0x4128, 0x0000]            # A 10.5 A
    body[10:12] = [0x4366, 0x8000]          # PhVphA 230.5 V
    body[24:26] = [0x4247, 0xEB85]          # Hz 49.98 Hz
    body[26:28] = [0xC50F, 0xC000]          # W -2300.0 W (exporting)
    body[66:68] = [0x47F1, 0x2000]          # TotWhImp 123456.0 Wh
    r += body
    assert len(r) == 126, len(r)
    return r


def image():
    r = [0x5375, 0x6E53]
    r += common() + [64999, 4, 1, 2, 3, 4] + inverter_103() + mppt_160() + meter_213()
    r += [0xFFFF, 0]
    assert len(r) == 306, len(r)
    return r


async def main(port):
    store = ModbusSlaveContext(hr=ModbusSequentialDataBlock(40000, image()), zero_mode=True)
    await serve_tcp(ModbusServerContext(slaves=store, single=True), port)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
