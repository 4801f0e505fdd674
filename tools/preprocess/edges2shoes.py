#!/usr/bin/env python3
"""Edges2Shoes -> edges2shoes_x64_train.npz, edges2shoes_x64_test.npz (dcodr's / the authors' layout).

Input: pix2pix's edges2shoes.tar.gz (http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/
edges2shoes.tar.gz; read as is, or its extracted folder): edges2shoes/{train,val}/N_AB.jpg, each
256 x 512 with the edge drawing on the left and the photo on the right. Optional (--zappos):
UT-Zappos50K (https://vision.cs.utexas.edu/projects/finegrained/utzap50k/: ut-zap50k-images and
ut-zap50k-data with meta-data.csv and image-path.mat) for the attributes.

As the authors' scripts/prepare_edges2shoes_zappos.py: files in the order of their number; each
gives two images, the photo (domain 0) then the edges (domain 1); dark lines are thickened
(255 - dilate(255 - img, 3 x 3, twice), i.e. a 5 x 5 minimum; their code applies it to every
image, --thicken edges limits it to the drawings); 256 -> 64 pixels as cv2.resize(INTER_LINEAR)
computes it; a random 10% of the images is the test set. With --zappos, each pair gets the
attributes of its nearest Zappos image (L2 over 32 x 32 thumbnails of the photo): shoe_type,
gender, closure, material, toe_style, the first value of each, values with 250 or fewer images
merged into 'Other', numbered in sorted order. Without it the files hold no attributes. Needs
numpy and PIL (and scipy for --zappos).

    python3 tools/preprocess/edges2shoes.py --src edges2shoes.tar.gz [--zappos ut-zap50k/] --out data/
"""
import argparse
import csv
import io
import os
import re
import tarfile

import numpy as np

import dcodr_npz

ZAPPOS_COLUMNS = [("Category", "shoe_type"), ("Gender", "gender"), ("Closure", "closure"),
                  ("Material", "material"), ("ToeStyle", "toe_style")]


def pairs(src):
    """(number, split, jpeg bytes) of every N_AB.jpg under {train,val}/, from a tar or a folder."""
    pattern = re.compile(r"(?:^|/)(train|val)/(\d+)_AB\.jpg$")
    out = []
    if os.path.isdir(src):
        for root, _, files in os.walk(src):
            for name in files:
                path = os.path.join(root, name)
                m = pattern.search(path.replace(os.sep, "/"))
                if m:
                    with open(path, "rb") as f:
                        out.append((int(m.group(2)), m.group(1), f.read()))
    else:
        with tarfile.open(src) as tar:
            for member in tar:
                m = pattern.search(member.name)
                if m and member.isfile():
                    out.append((int(m.group(2)), m.group(1), tar.extractfile(member).read()))
    if not out:
        raise SystemExit(f"{src}: no {{train,val}}/N_AB.jpg images (expected pix2pix's edges2shoes)")
    return sorted(out, key=lambda t: (t[0], t[1]))


def thicken(img):
    """255 - cv2.dilate(255 - img, ones(3, 3), iterations=2): a 5 x 5 minimum filter."""
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)), constant_values=255)
    out = padded[2:-2, 2:-2].copy()
    for dy in range(5):
        for dx in range(5):
            np.minimum(out, padded[dy:dy + img.shape[0], dx:dx + img.shape[1]], out=out)
    return out


def to_64(img):
    """cv2.resize(img, (64, 64)) with INTER_LINEAR from 256: source rows/columns 4j+1 and 4j+2."""
    f = img.astype(np.float64)
    f = (f[1::4] + f[2::4]) / 2
    f = (f[:, 1::4] + f[:, 2::4]) / 2
    return np.clip(np.round(f), 0, 255).astype(np.uint8)


def zappos_attributes(zappos, photos32, rare):
    """Per photo, the attributes of its nearest UT-Zappos50K image; and their names."""
    sio = dcodr_npz.need("scipy.io", "to read image-path.mat")
    Image = dcodr_npz.need("PIL.Image", "to read the images")
    data = os.path.join(zappos, "ut-zap50k-data")
    paths = [x[0] for x in sio.loadmat(os.path.join(data, "image-path.mat"))["imagepath"][:, 0]]
    with open(os.path.join(data, "meta-data.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(paths):
        raise SystemExit(f"{data}: {len(rows)} rows in meta-data.csv for {len(paths)} image paths")
    thumbs = np.stack([np.asarray(Image.open(os.path.join(zappos, "ut-zap50k-images", p)).convert("RGB")
                                  .resize((32, 32), Image.BICUBIC)).reshape(-1) for p in paths]).astype(np.float64)
    labels = []
    for column, _ in ZAPPOS_COLUMNS:
        values = [(r.get(column) or "Other").split(";")[0] or "Other" for r in rows]
        counts = {v: values.count(v) for v in set(values)}
        values = [v if counts[v] > rare else "Other" for v in values]
        labels.append(dcodr_npz.enumerate_values(np.array(values))[0])
    labels = np.stack(labels, axis=1)
    q = photos32.astype(np.float64)
    nearest = []
    for at in range(0, len(q), 2000):  # |a - b|^2 = |a|^2 - 2 a.b + |b|^2, in chunks
        block = q[at:at + 2000]
        d = (block ** 2).sum(1)[:, None] - 2 * block @ thumbs.T + (thumbs ** 2).sum(1)[None, :]
        nearest.extend(np.argmin(d, axis=1))
    return labels[np.array(nearest)], [name for _, name in ZAPPOS_COLUMNS]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="edges2shoes.tar.gz or its extracted folder")
    p.add_argument("--zappos", default="", help="UT-Zappos50K folder (ut-zap50k-images/, ut-zap50k-data/)")
    p.add_argument("--thicken", choices=["all", "edges"], default="all",
                   help="thicken dark lines in every image (the authors' code) or in the drawings only")
    p.add_argument("--rare", type=int, default=250,
                   help="--zappos: attribute values with this many Zappos images or fewer become 'Other'")
    dcodr_npz.common_args(p, "data")
    a = p.parse_args()
    Image = dcodr_npz.need("PIL.Image", "to read the JPEGs")
    imgs, photos32 = [], []
    for number, split, jpeg in pairs(a.src):
        ab = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
        if ab.shape[:2] != (256, 512):
            raise SystemExit(f"{split}/{number}_AB.jpg: {ab.shape[1]}x{ab.shape[0]} pixels, expected 512x256")
        edges, photo = ab[:, :256], ab[:, 256:]
        photos32.append(np.asarray(Image.fromarray(photo).resize((32, 32), Image.BICUBIC)).reshape(-1))
        imgs.append(to_64(thicken(photo) if a.thicken == "all" else photo))
        imgs.append(to_64(thicken(edges)))
    imgs = np.stack(imgs)
    classes = np.arange(len(imgs)) % 2  # photo 0, edges 1
    contents, names = None, None
    if a.zappos:
        per_pair, names = zappos_attributes(a.zappos, np.stack(photos32), a.rare)
        contents = np.repeat(per_pair, 2, axis=0)
    train, test = dcodr_npz.random_split(len(imgs), a.test_fraction)
    dcodr_npz.save_splits(a.out, "edges2shoes_x64", imgs, classes, train, test, compress=a.compress,
                          contents=contents, names=names, n_classes=2)


if __name__ == "__main__":
    main()
