#!/usr/bin/env python3
"""Writes tests/fixtures/python-layout.safetensors the way Python's `safetensors` package
lays a file out (its Rust core's `serialize`), using only json + struct so it runs anywhere:

  * tensors sorted by dtype, widest/"largest" first (the Rust Dtype enum order, descending),
    then by name; data packed in that order with no gaps;
  * header = compact JSON (no spaces), "__metadata__" first, each entry's keys in the order
    dtype, shape, data_offsets; padded with spaces to a multiple of 8;
  * an 8-byte little-endian header length in front.

The file holds the dtypes PyTorch users hand us (F16, BF16, I32, U8, BOOL) next to ours, a
0-d and an empty tensor. test_safetensors.cpp checks every value, so regenerate the file
only together with that test.

Usage: python3 tests/make_safetensors_fixture.py [output path]
"""
import json
import struct
import sys

# Rust's `enum Dtype` order (safetensors/src/tensor.rs); serialize() sorts descending.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]


def bf16(x):
    # float32 bits truncated to the top half (the values below are exact in bf16)
    return struct.unpack("<I", struct.pack("<f", x))[0] >> 16


TENSORS = {
    # name: (dtype, shape, little-endian data bytes)
    "weight": ("F16", [2, 2], struct.pack("<4e", 1.0, -2.0, 0.5, 65504.0)),
    "bias": ("BF16", [2], struct.pack("<2H", bf16(1.0), bf16(-3.0))),
    "mask": ("BOOL", [3], bytes([1, 0, 1])),
    "index": ("I32", [2], struct.pack("<2i", -7, 123456)),
    "steps": ("I64", [], struct.pack("<q", 42)),
    "scale": ("F64", [1], struct.pack("<d", 0.25)),
    "empty": ("F32", [0, 4], b""),
    "pixels": ("U8", [2], bytes([0, 255])),
}
METADATA = {"format": "pt", "note": "tests/make_safetensors_fixture.py"}


def serialize(tensors, metadata):
    names = sorted(tensors, key=lambda n: (-DTYPE_ORDER.index(tensors[n][0]), n))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset, data = 0, b""
    for name in names:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/python-layout.safetensors"
    with open(out, "wb") as f:
        f.write(serialize(TENSORS, METADATA))
