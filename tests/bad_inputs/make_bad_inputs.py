#!/usr/bin/env python3
"""Writes the bad-input corpus in this folder: one small file per known-bad case, each paired in
expected.tsv with the text its error message must contain (tests/test_bad_inputs.cpp checks
both). Plain Python, no numpy, so anyone can regenerate it: python3 make_bad_inputs.py"""
import json, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []  # (file, expected substring)
WRITE = __name__ == "__main__"  # importing (tests/fuzz/make_seeds.py) only borrows the helpers


def npy(descr, shape, data=b""):
    shape_s = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    if len(shape) > 1:
        shape_s = "(" + ", ".join(str(d) for d in shape) + ")"
    if len(shape) == 0:
        shape_s = "()"
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_s)
    pad = 64 - (10 + len(d) + 1) % 64
    d = d + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + data


def zip_bytes(members, patch=None):
    """members: [(name, bytes)], stored. patch(cd_entry_dict) may edit central-directory fields."""
    out, cd = b"", b""
    for name, data in members:
        crc = zlib.crc32(data) & 0xFFFFFFFF
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(name), 0)
        out += name.encode() + data
        e = dict(crc=crc, csize=len(data), size=len(data), name=name.encode(), extra=b"", xlen=None, off=off)
        if patch:
            patch(e)
        xlen = len(e["extra"]) if e["xlen"] is None else e["xlen"]
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, e["crc"], e["csize"], e["size"],
                          len(e["name"]), xlen, 0, 0, 0, 0, e["off"])
        cd += e["name"] + e["extra"]
    cd_off = len(out)
    out += cd
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), cd_off, 0)
    return out


def put(name, data, expect):
    if WRITE:
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    cases.append((name, expect))


def i64(vals):
    return b"".join(struct.pack("<q", v) for v in vals)


imgs = npy("|u1", (2, 2, 2, 3), bytes(24))
classes = npy("<i8", (2,), i64([0, 1]))

# 1. The ASan heap over-read: size 0xFFFFFFFF and a ZIP64 extra field longer than the extra area.
def zip64_overrun(e):
    e["size"] = 0xFFFFFFFF
    e["extra"] = struct.pack("<HH", 0x0001, 16)  # claims 16 bytes, none follow
put("zip64_extra_overrun.npz", zip_bytes([("imgs.npy", imgs), ("classes.npy", classes)], zip64_overrun),
    "extra field of 16 bytes with only 0 left")

# 2. An entry whose offset lies past the end of the file.
def past_end(e):
    e["off"] = 10_000_000
put("entry_past_end.npz", zip_bytes([("imgs.npy", imgs)], past_end), "past the end of the")

# 3. Two members named imgs.npy (numpy would take the last, we took the first).
put("duplicate_member.npz", zip_bytes([("imgs.npy", imgs), ("imgs.npy", imgs), ("classes.npy", classes)]),
    "two members named 'imgs.npy'")

# 4. A shape whose element count wraps int64 to 0: (200, 2^32, 2^32) with no data.
put("wrapping_shape.npz", zip_bytes([("imgs.npy", npy("|u1", (200, 2**32, 2**32))), ("classes.npy", classes)]),
    "too many elements")

# 5. No images at all.
put("no_images.npz", zip_bytes([("imgs.npy", npy("|u1", (0, 2, 2, 3))), ("classes.npy", npy("<i8", (0,)))]),
    "holds no images")

# 6. A class id of 10^15 (was std::bad_alloc) and one of INT64_MAX (was reported as negative).
put("huge_class_id.npz", zip_bytes([("imgs.npy", imgs), ("classes.npy", npy("<i8", (2,), i64([0, 10**15])))]),
    "label of image 1 is 1000000000000000, out of range [0, 16777216)")
put("int64_max_label.npz",
    zip_bytes([("imgs.npy", imgs), ("classes.npy", npy("<i8", (2,), i64([0, 2**63 - 1])))]),
    "label of image 1 is 9223372036854775807")
put("huge_attribute.npz",
    zip_bytes([("imgs.npy", imgs), ("classes.npy", classes), ("contents.npy", npy("<i8", (2, 1), i64([0, 2**62])))]),
    "attribute 0 is 4611686018427387904, out of range")
# 7. Float labels beyond int64 (converting them was undefined behaviour).
put("float_label_1e30.npz",
    zip_bytes([("imgs.npy", imgs), ("classes.npy", npy("<f8", (2,), struct.pack("<dd", 0.0, 1e30)))]),
    "expected integer values")


def png(w, h, rows=None):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = rows if rows is not None else b"".join(b"\x00" + bytes(3 * w) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

# 8. A PNG that claims 100000 x 100000 pixels (stb said "unknown image type").
put("huge.png", png(100000, 100000, rows=b""), "a PNG of 100000 x 100000 pixels")
if WRITE:
    with open(os.path.join(HERE, "small_a.png"), "wb") as f:
        f.write(png(4, 4))
    with open(os.path.join(HERE, "small_b.png"), "wb") as f:
        f.write(png(6, 5))
put("huge_png.csv", b"path,domain\nsmall_a.png,0\nhuge.png,1\n", "a PNG of 100000 x 100000 pixels")
# 9. Images of different sizes without a target size: the message names the flag to use.
put("mixed_sizes.csv", b"path,domain\nsmall_a.png,0\nsmall_b.png,1\n", "target size (--image-size)")
# 10. A CSV domain id that would size a per-class table of 10^11 entries.
put("huge_domain.csv", b"path,domain\nsmall_a.png,0\nsmall_a.png,99999999999\n", "integer labels must be >= 0 and below 16777216")
# 11. A CSV row naming a folder, not an image.
put("folder_row.csv", b"path,domain\nsmall_a.png,0\n.,1\n", "is a directory")

# 11b. Found by tests/fuzz/fuzz_image (committed as found, not generated here): a JPEG whose
# Huffman table lists more than 256 codes; the packaged stb wrote past its size table.
cases.append(("jpeg_huffman_overflow.jpg", "a Huffman table with"))
cases.append(("jpeg_huffman_overflow2.jpg", "a Huffman table with"))  # the table after stray bytes
cases.append(("jpeg_huffman_overflow3.jpg", "a Huffman table with"))  # counts read past the segment
# Also found by fuzz_image: an empty IDAT chunk made stb call memcpy(NULL, src, 0) (UBSan);
# data/stb_impl.c skips zero-length copies. The file is refused as a corrupt PNG.
cases.append(("png_empty_idat.png", "cannot decode image"))
# Found by tools/fuzz-libfuzzer.sh: a 161-byte BMP whose header claims 8 x 16252680 pixels; stb
# decoded it, padding with zeros, for minutes. data/image_limits.cpp compares the claim with the
# file's size.
cases.append(("bmp_forged_height.bmp", "bytes of pixel data"))

# 12. Checkpoint metadata JSON that is not JSON, and a safetensors header that lies.
put("truncated.json", b'{"depth": 50, "width": ', "")
hdr = json.dumps({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}).encode()
put("lying_offsets.safetensors", struct.pack("<Q", len(hdr)) + hdr + bytes(8), "")

if WRITE:
    with open(os.path.join(HERE, "expected.tsv"), "w") as f:
        f.write("# file<TAB>text the error message must contain (empty: any dcodr error, no crash)\n")
        for name, expect in cases:
            f.write(f"{name}\t{expect}\n")
