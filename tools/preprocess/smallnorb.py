#!/usr/bin/env python3
"""SmallNORB -> smallnorb_train.npz, smallnorb_test.npz (dcodr's / the authors' npz layout).

Input: the six files of https://cs.nyu.edu/~yann/research/norb/ (small NORB, "-dat", "-cat",
"-info" for training and testing), gzipped as downloaded or not:
  smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat[.gz]
  smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat[.gz]
They are NORB binary matrices (not MATLAB files): an int32 magic (0x1E3D4C55 bytes, 0x1E3D4C54
int32), the number of dimensions, max(3, ndim) sizes, then the data, little-endian.

The authors publish no SmallNORB script; this follows their evaluation (attributes azimuth,
elevation, lighting; the domain is the object) and their other data sets (images 64 x 64, a split
stratified by domain holding 10% out): both official halves are pooled (they hold disjoint
objects, so a domain probe could not be trained on one and scored on the other); the domain is
the object, category * 10 + instance (50); azimuth is stored as its step 0..17 (the files hold
0, 2, ..., 34, in units of 10 degrees), elevation 0..8, lighting 0..5. Only the left camera's
image is kept (--cameras both keeps the pair: the right view is almost the same picture with the
same attributes, which would make retrieval trivially right). Retrieval counts azimuth within
2 steps around the circle, as the authors do: dcodr train/eval --retrieval-tolerance azimuth=2
--circular azimuth. Needs numpy and PIL.

    python3 tools/preprocess/smallnorb.py --src norb/ --out data/
"""
import argparse
import gzip
import os

import numpy as np

import dcodr_npz

MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32}
FILES = {"training": "smallnorb-5x46789x9x18x6x2x96x96-training-{}.mat",
         "testing": "smallnorb-5x01235x9x18x6x2x96x96-testing-{}.mat"}


def read_matrix(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    head = np.frombuffer(raw[:8], dtype="<i4")
    magic, ndim = int(head[0]) & 0xFFFFFFFF, int(head[1])
    if magic not in MAGIC or not 1 <= ndim <= 8:
        raise SystemExit(f"{path}: not a NORB binary matrix (magic {magic:#x}, {ndim} dimensions)")
    dims = np.frombuffer(raw[8:8 + 4 * max(3, ndim)], dtype="<i4")[:ndim]
    data = np.frombuffer(raw[8 + 4 * max(3, ndim):], dtype=np.dtype(MAGIC[magic]).newbyteorder("<"))
    if data.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: {data.size} values for the dimensions {dims.tolist()} (truncated?)")
    return data.reshape(dims)


def find(src, name):
    for candidate in (name, name + ".gz"):
        if os.path.exists(os.path.join(src, candidate)):
            return os.path.join(src, candidate)
    raise SystemExit(f"{src}: missing {name} (or {name}.gz)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="folder holding the six smallnorb-*.mat[.gz] files")
    p.add_argument("--cameras", choices=["left", "both"], default="left")
    dcodr_npz.common_args(p, "data")
    a = p.parse_args()
    Image = dcodr_npz.need("PIL.Image", "to resize the images")
    imgs, classes, contents = [], [], []
    for half, pattern in FILES.items():
        dat = read_matrix(find(a.src, pattern.format("dat")))   # N x 2 x 96 x 96 uint8
        cat = read_matrix(find(a.src, pattern.format("cat")))   # N int32, 0..4
        info = read_matrix(find(a.src, pattern.format("info")))  # N x 4: instance, elevation, azimuth, lighting
        if dat.ndim != 4 or dat.shape[1] != 2 or len(cat) != len(dat) or info.shape != (len(dat), 4):
            raise SystemExit(f"{half}: shapes {dat.shape}, {cat.shape}, {info.shape} do not fit together")
        for cam in ([0] if a.cameras == "left" else [0, 1]):
            for i in range(len(dat)):
                small = Image.fromarray(dat[i, cam]).resize((64, 64), Image.BILINEAR)
                imgs.append(np.asarray(small))
                classes.append(int(cat[i]) * 10 + int(info[i, 0]))
                contents.append((int(info[i, 2]) // 2, int(info[i, 1]), int(info[i, 3])))
    imgs = np.stack(imgs)[..., None]  # N x 64 x 64 x 1
    classes = np.array(classes, dtype=np.int64)
    contents = np.array(contents, dtype=np.int64)
    train, test = dcodr_npz.stratified_split(classes, a.test_fraction)
    dcodr_npz.save_splits(a.out, "smallnorb", imgs, classes, train, test, compress=a.compress, contents=contents,
                          names=["azimuth", "elevation", "lighting"], n_classes=50)


if __name__ == "__main__":
    main()
