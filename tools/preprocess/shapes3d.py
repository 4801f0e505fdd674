#!/usr/bin/env python3
"""Shapes3D -> shapes3d__class_shape__{train,test}.npz and a 50K training subset.

Input: 3dshapes.h5 from DeepMind (https://github.com/deepmind/3d-shapes, file at
https://storage.googleapis.com/3d-shapes/3dshapes.h5): `images` 480000 x 64 x 64 x 3 uint8,
`labels` 480000 x 6 float64 (floor_hue, wall_hue, object_hue, scale, shape, orientation).

As the authors' scripts/prepare_shapes3d.py: the domain is the shape (4 values, numbered in
sorted order); a split stratified by shape holds 10% out; the training subset the paper trains
on is 50,000 images drawn from the training split. The other five factors are the attributes,
each numbered by its sorted distinct values (10, 10, 10, 8, 15 classes; the authors' file kept
the float values, which their evaluation then renumbers the same way). Needs numpy and h5py,
and memory for the images (5.9 GB).

    python3 tools/preprocess/shapes3d.py --src 3dshapes.h5 --out data/
"""
import argparse
import os

import numpy as np

import dcodr_npz

FACTORS = ["floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="3dshapes.h5")
    p.add_argument("--domain-factor", default="shape", choices=FACTORS, help="the factor used as the domain")
    p.add_argument("--reduced", type=int, default=50000,
                   help="size of the training subset also written (0 = none; the paper: 50000)")
    dcodr_npz.common_args(p, "data")
    a = p.parse_args()
    h5py = dcodr_npz.need("h5py", "to read 3dshapes.h5")
    with h5py.File(a.src, "r") as f:
        labels = np.asarray(f["labels"])
        if labels.ndim != 2 or labels.shape[1] != 6:
            raise SystemExit(f"{a.src}: 'labels' has shape {labels.shape}, expected N x 6")
        imgs = np.asarray(f["images"])
    if imgs.shape[0] != labels.shape[0] or imgs.shape[1:] != (64, 64, 3):
        raise SystemExit(f"{a.src}: 'images' has shape {imgs.shape}, expected {labels.shape[0]} x 64 x 64 x 3")
    d = FACTORS.index(a.domain_factor)
    classes, _ = dcodr_npz.enumerate_values(labels[:, d])
    names = [n for i, n in enumerate(FACTORS) if i != d]
    contents = np.stack([dcodr_npz.enumerate_values(labels[:, i])[0] for i in range(6) if i != d], axis=1)
    prefix = f"shapes3d__class_{a.domain_factor}_"  # the authors: shapes3d__class_shape__train.npz
    train, test = dcodr_npz.stratified_split(classes, a.test_fraction)
    dcodr_npz.save_splits(a.out, prefix, imgs, classes, train, test, compress=a.compress, contents=contents,
                          names=names, n_classes=int(classes.max()) + 1)
    if a.reduced:
        rng = np.random.RandomState(dcodr_npz.SEED)
        keep = np.sort(train[rng.choice(len(train), size=min(a.reduced, len(train)), replace=False)])
        label = f"{a.reduced // 1000}K" if a.reduced % 1000 == 0 else str(a.reduced)
        dcodr_npz.save(os.path.join(a.out, f"{prefix}_train__reduced_{label}.npz"), imgs[keep], classes[keep],
                       contents=contents[keep], names=names, n_classes=int(classes.max()) + 1, compress=a.compress)


if __name__ == "__main__":
    main()
