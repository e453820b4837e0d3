#!/usr/bin/env python3
"""Converts SunSpec's open model definitions into drivers/sunspec/model_table.cpp.

The definitions are the JSON files of https://github.com/sunspec/models
(Apache-2.0). Read from a checkout (a directory holding json/) or a git
directory (bare or not: the files of HEAD, or --commit). Nothing is downloaded
at build time: the generated file is committed, and its header records the
source commit and the licence. Run again after updating the checkout:

    scripts/sunspec_models.py --repo ~/src/sunspec-models
    scripts/sunspec_models.py --repo /path/models.git --check   # is the table current?

Standard library only (python3 >= 3.9).

What is generated (docs/SUNSPEC.md):
- the models fieldgate decodes (DECODED below): every point with its offset,
  size, type, units and scale-factor reference, and the readable name
  fieldgate publishes it under;
- the id and name of every other model in the definitions, so that a device's
  undecoded model is reported by name.

A model is decodable when its points are in one fixed group, optionally
followed by one repeating group (count 0 in the definitions: it repeats to
fill the model's length, as model 160's MPPT modules do).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

# The models fieldgate decodes, and the prefix of their point names.
DECODED = {
    1: "common",
    101: "inverter", 102: "inverter", 103: "inverter",
    111: "inverter", 112: "inverter", 113: "inverter",
    120: "nameplate", 121: "settings", 122: "status", 123: "controls", 124: "storage",
    160: "mppt",
    201: "meter", 202: "meter", 203: "meter", 204: "meter",
    211: "meter", 212: "meter", 213: "meter", 214: "meter",
}

# Readable names of the points shared by inverters and meters: the names of
# fieldgate's meter library (voltage_l1, power_active_total, ...), so that a
# dashboard works across a SunSpec meter and a library one. L1/L2/L3 are
# SunSpec's phases A/B/C.
_PHASES = {"A": "l1", "B": "l2", "C": "l3"}
_QUANTITIES = {
    "A": "current", "W": "power_active", "VA": "power_apparent", "VAR": "power_reactive",
    "VAr": "power_reactive", "PF": "power_factor",
}
_FIXED = {
    "PhV": "voltage_ln_avg", "PPV": "voltage_ll_avg", "Hz": "frequency",
    "PPVphAB": "voltage_l1_l2", "PPVphBC": "voltage_l2_l3", "PPVphCA": "voltage_l3_l1",
    "PhVphAB": "voltage_l1_l2", "PhVphBC": "voltage_l2_l3", "PhVphCA": "voltage_l3_l1",
    "PhVphA": "voltage_l1", "PhVphB": "voltage_l2", "PhVphC": "voltage_l3",
    "WH": "energy_total", "DCA": "dc_current", "DCV": "dc_voltage", "DCW": "dc_power",
    "DCWH": "dc_energy_total", "TmpCab": "temperature_cabinet",
    "TmpSnk": "temperature_heatsink", "TmpTrns": "temperature_transformer",
    "TmpOt": "temperature_other", "Tmp": "temperature", "St": "state", "StVnd": "state_vendor",
    "DCSt": "state", "Evt": "events", "Evt1": "events_1", "Evt2": "events_2",
    "EvtVnd1": "events_vendor_1", "EvtVnd2": "events_vendor_2", "EvtVnd3": "events_vendor_3",
    "EvtVnd4": "events_vendor_4", "DCEvt": "events",
    # model 1
    "Mn": "manufacturer", "Md": "model", "Opt": "options", "Vr": "version",
    "SN": "serial_number", "DA": "device_address",
    # model 160
    "ID": "module_id", "IDStr": "module_name", "Tms": "timestamp", "N": "modules",
    "TmsPer": "timestamp_period",
}
_ENERGY = re.compile(r"^Tot(Wh|VAh|VArh)(Imp|Exp)(Q[1-4])?(?:[Pp]h([ABC]))?$")
_ENERGY_KIND = {"Wh": "energy", "VAh": "energy_apparent", "VArh": "energy_reactive"}
_ENERGY_DIR = {"Imp": "import", "Exp": "export"}


def snake(name: str) -> str:
    """SunSpec's CamelCase point name in snake_case: VArRtgQ1 -> v_ar_rtg_q1."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s)
    return s.strip("_").lower()


def readable(model_id: int, name: str) -> str:
    """The name fieldgate publishes a point under, without the model's prefix."""
    family = DECODED.get(model_id)
    if family in ("inverter", "meter", "mppt", "common"):
        if name in _FIXED:
            return _FIXED[name]
        m = re.fullmatch(r"(A|W|VA|VAR|VAr|PF)(?:ph([ABC]))?", name)
        if m:
            quantity = _QUANTITIES[m.group(1)]
            return f"{quantity}_{_PHASES[m.group(2)]}" if m.group(2) else (
                "power_factor" if quantity == "power_factor" else f"{quantity}_total")
        m = _ENERGY.fullmatch(name)
        if m:
            parts = [_ENERGY_KIND[m.group(1)], _ENERGY_DIR[m.group(2)]]
            if m.group(3):
                parts.append(m.group(3).lower())
            parts.append(_PHASES[m.group(4)] if m.group(4) else "total")
            return "_".join(parts)
    return snake(name)


# SunSpec type -> (C++ enumerator, registers when fixed)
TYPES = {
    "int16": ("kInt16", 1), "uint16": ("kUInt16", 1), "acc16": ("kAcc16", 1),
    "enum16": ("kEnum16", 1), "bitfield16": ("kBitfield16", 1), "count": ("kCount", 1),
    "sunssf": ("kSunssf", 1), "int32": ("kInt32", 2), "uint32": ("kUInt32", 2),
    "acc32": ("kAcc32", 2), "enum32": ("kEnum32", 2), "bitfield32": ("kBitfield32", 2),
    "int64": ("kInt64", 4), "uint64": ("kUInt64", 4), "acc64": ("kAcc64", 4),
    "bitfield64": ("kBitfield64", 4), "float32": ("kFloat32", 2), "float64": ("kFloat64", 4),
    "string": ("kString", None), "pad": ("kPad", 1),
}


class Source:
    """The definitions' files, from a checkout or a git directory."""

    def __init__(self, repo: str, commit: str | None):
        self.repo = repo
        self.checkout = os.path.isdir(os.path.join(repo, "json")) and commit is None
        if self.checkout:
            self.commit = self._git("rev-parse", "HEAD", must=False) or "unknown (not a git checkout)"
        else:
            self.commit = self._git("rev-parse", commit or "HEAD")

    def _git(self, *args: str, must: bool = True) -> str:
        try:
            out = subprocess.run(["git", "-C", self.repo, *args], check=True,
                                 capture_output=True, text=True)
            return out.stdout.strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            if must:
                sys.exit(f"sunspec_models: git {' '.join(args)} failed in {self.repo}")
            return ""

    def names(self) -> list[str]:
        if self.checkout:
            return sorted(os.listdir(os.path.join(self.repo, "json")))
        return [p.split("/")[-1] for p in self._git("ls-tree", "--name-only", self.commit,
                                                     "json/").splitlines()]

    def read(self, name: str) -> str:
        if self.checkout:
            with open(os.path.join(self.repo, "json", name), encoding="utf-8") as f:
                return f.read()
        return self._git("show", f"{self.commit}:json/{name}")


def c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def points_of(model_id: int, group: dict, skip_header: bool) -> tuple[list[dict], int]:
    """The points of a group with their offsets (registers from its start)."""
    out, offset = [], 0
    for p in group.get("points", []):
        kind = p["type"]
        if kind not in TYPES:
            raise ValueError(f"model {model_id}: point {p['name']}: type {kind} not supported")
        size = int(p["size"])
        fixed = TYPES[kind][1]
        if fixed is not None and fixed != size:
            raise ValueError(f"model {model_id}: point {p['name']}: size {size} for {kind}")
        if skip_header and p["name"] in ("ID", "L") and offset < 2:
            offset += size
            continue
        out.append(dict(p, offset=offset - (2 if skip_header else 0), size=size))
        offset += size
    return out, offset - (2 if skip_header else 0)


def sf_ref(model_id: int, point: dict, own: list[dict], fixed: list[dict], in_repeat: bool) -> str:
    """The scale factor reference as C++: none, a constant, or a sunssf point."""
    sf = point.get("sf")
    if sf is None:
        return "{SfKind::kNone, 0}"
    if isinstance(sf, int) or re.fullmatch(r"-?\d+", str(sf)):
        return f"{{SfKind::kConstant, {int(sf)}}}"
    for where, points in (("kRepeat" if in_repeat else "kFixed", own), ("kFixed", fixed)):
        for q in points:
            if q["name"] == sf and q["type"] == "sunssf":
                return f"{{SfKind::{where}, {q['offset']}}}"
    raise ValueError(f"model {model_id}: point {point['name']}: scale factor {sf} not found")


def point_rows(model_id: int, points: list[dict], fixed: list[dict], in_repeat: bool) -> list[str]:
    rows = []
    for p in points:
        enum = TYPES[p["type"]][0]
        rows.append(
            f"    {{{c_string(p['name'])}, {c_string(readable(model_id, p['name']))}, "
            f"{c_string(p.get('units', ''))}, {p['offset']}, {p['size']}, PointType::{enum}, "
            f"{sf_ref(model_id, p, points, fixed, in_repeat)}}},")
    return rows


def generate(source: Source) -> str:
    definitions = {}
    for name in source.names():
        m = re.fullmatch(r"model_(\d+)\.json", name)
        if m:
            definitions[int(m.group(1))] = json.loads(source.read(name))
    missing = sorted(set(DECODED) - set(definitions))
    if missing:
        sys.exit(f"sunspec_models: the definitions lack models {missing}")

    body, table = [], []
    for model_id in sorted(DECODED):
        group = definitions[model_id]["group"]
        groups = group.get("groups", [])
        if len(groups) > 1 or any(g.get("groups") for g in groups) or any(
                g.get("count") not in (0, None) for g in groups):
            raise ValueError(f"model {model_id}: group structure not supported")
        fixed, fixed_length = points_of(model_id, group, skip_header=True)
        repeat, repeat_length, repeat_name = [], 0, ""
        if groups:
            repeat, repeat_length = points_of(model_id, groups[0], skip_header=False)
            repeat_name = groups[0]["name"]
        body.append(f"constexpr PointDef kModel{model_id}Fixed[] = {{")
        body += point_rows(model_id, fixed, fixed, False)
        body.append("};")
        repeat_span = "{}"
        if repeat:
            body.append(f"constexpr PointDef kModel{model_id}Repeat[] = {{")
            body += point_rows(model_id, repeat, fixed, True)
            body.append("};")
            repeat_span = f"kModel{model_id}Repeat"
        table.append(
            f"    {{{model_id}, {c_string(group['name'])}, {c_string(group.get('label', ''))}, "
            f"{c_string(DECODED[model_id])}, {fixed_length}, {repeat_length}, "
            f"{c_string(repeat_name)}, kModel{model_id}Fixed, {repeat_span}}},")

    names = [f"    {{{i}, {c_string(definitions[i]['group']['name'])}}},"
             for i in sorted(definitions)]
    header = f"""\
// GENERATED by scripts/sunspec_models.py -- do not edit; run the script again.
//
// Source: SunSpec Alliance model definitions, https://github.com/sunspec/models
// (json/model_*.json), commit {source.commit}.
// Licence of the definitions: Apache License 2.0 (the repository's LICENSE).
// Copyright SunSpec Alliance. Converted to this table; point names added by
// fieldgate (docs/SUNSPEC.md).
// clang-format off
"""
    return "\n".join([
        header,
        '#include "drivers/sunspec/model_table.hpp"',
        "",
        "namespace fieldgate::sunspec {",
        "namespace {",
        "",
        *body,
        "",
        "constexpr ModelDef kModels[] = {",
        *table,
        "};",
        "",
        "constexpr ModelName kNames[] = {",
        *names,
        "};",
        "",
        "}  // namespace",
        "",
        f"std::string_view definitions_commit() noexcept {{ return {c_string(source.commit)}; }}",
        "std::span<const ModelDef> decoded_models() noexcept { return kModels; }",
        "std::span<const ModelName> model_names() noexcept { return kNames; }",
        "",
        "}  // namespace fieldgate::sunspec",
        "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True,
                        help="a checkout of github.com/sunspec/models, or its git directory")
    parser.add_argument("--commit", help="read this commit of a git directory (default HEAD)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "drivers",
                                                      "sunspec", "model_table.cpp"))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if --out differs from what would be generated")
    args = parser.parse_args()
    text = generate(Source(args.repo, args.commit))
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{args.out} is not what the definitions give", file=sys.stderr)
                return 1
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
