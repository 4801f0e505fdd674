#!/usr/bin/env python3
"""CelebA -> celeba_x64_train.npz, celeba_x64_test.npz (dcodr's / the authors' npz layout).

Input (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, "Align&Cropped Images" and "Anno"):
  img_align_celeba/            the 202,599 aligned 178 x 218 JPEGs (img_align_celeba.zip)
  identity_CelebA.txt          "000001.jpg 2880" per line: the identity of each image
  list_landmarks_align_celeba.txt   5 landmarks (eyes, nose, mouth corners) per image
  list_attr_celeba.txt         optional: the 40 binary attributes, stored as `contents` (dcodr then
                               probes them too; leave the file out to evaluate as the authors do:
                               identity and landmarks only)

As the authors' scripts/prepare_celeba_x64.py: the 128 x 128 centre crop, shrunk to 64 x 64 (2 x 2
means, what their cv2.resize does at this factor); the domain is the identity, numbered per file;
train and test hold disjoint identities (here a seeded 10% of the identities are the test set;
theirs came from folders of their own). Informativeness is landmark regression: the landmarks
are stored as `landmarks` float32 [N, 10], moved into the 64 x 64 image's pixel coordinates.
The authors ran a 68-point detector (face_alignment) on their 64 x 64 images instead; that
network is not something a preprocessing script should download, so the dataset's own 5 points
are used. To evaluate as they do: dcodr train --min-domain-images 20 (training only on identities
with 20+ images) ... --eval --probe-on-test 0.25 (probes on the test identities, split 75/25).
Needs numpy and PIL.

    python3 tools/preprocess/celeba.py --src celeba/ --out data/
"""
import argparse
import os

import numpy as np

import dcodr_npz

CROP, TOP, LEFT = 128, 218 // 2 - 64, 178 // 2 - 64  # rows 45..172, columns 25..152


def read_table(path, skip_header_lines):
    """{image name: [fields...]} of a CelebA annotation file."""
    rows = {}
    with open(path) as f:
        lines = f.read().splitlines()[skip_header_lines:]
    for line in lines:
        parts = line.split()
        if parts:
            rows[parts[0]] = parts[1:]
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="folder with img_align_celeba/ and the annotation .txt files")
    p.add_argument("--test-identities", type=float, default=0.1, help="share of the identities in the test file")
    p.add_argument("--out", default="data")
    p.add_argument("--compress", action="store_true", help="np.savez_compressed instead of np.savez")
    a = p.parse_args()
    Image = dcodr_npz.need("PIL.Image", "to read the JPEGs")
    identity = {k: int(v[0]) for k, v in read_table(os.path.join(a.src, "identity_CelebA.txt"), 0).items()}
    marks = read_table(os.path.join(a.src, "list_landmarks_align_celeba.txt"), 2)
    attr_path = os.path.join(a.src, "list_attr_celeba.txt")
    attr_names, attrs = None, None
    if os.path.exists(attr_path):
        with open(attr_path) as f:
            f.readline()
            attr_names = f.readline().split()
        attrs = read_table(attr_path, 2)
    img_dir = os.path.join(a.src, "img_align_celeba")
    names = sorted(n for n in identity if os.path.exists(os.path.join(img_dir, n)))
    if not names:
        raise SystemExit(f"{img_dir}: none of the images listed in identity_CelebA.txt")
    missing = [n for n in names if n not in marks]
    if missing:
        raise SystemExit(f"list_landmarks_align_celeba.txt has no landmarks for {missing[0]} ({len(missing)} images)")
    people = np.array(sorted({identity[n] for n in names}))
    rng = np.random.RandomState(dcodr_npz.SEED)
    test_people = set(rng.choice(people, size=max(1, int(round(len(people) * a.test_identities))), replace=False))
    for split in ("train", "test"):
        chosen = [n for n in names if (identity[n] in test_people) == (split == "test")]
        imgs = np.zeros((len(chosen), 64, 64, 3), dtype=np.uint8)
        landmarks = np.zeros((len(chosen), 10), dtype=np.float32)
        for i, n in enumerate(chosen):
            full = np.asarray(Image.open(os.path.join(img_dir, n)).convert("RGB"))
            if full.shape[:2] != (218, 178):
                raise SystemExit(f"{n}: {full.shape[1]}x{full.shape[0]} pixels, expected the aligned 178x218")
            imgs[i] = dcodr_npz.area_downscale(full[TOP:TOP + CROP, LEFT:LEFT + CROP], 2)
            xy = np.array(marks[n], dtype=np.float32).reshape(5, 2)
            # pixel x of the crop -> 64-pixel image: output pixel j averages crop pixels 2j, 2j+1
            landmarks[i] = ((xy - np.array([LEFT, TOP], dtype=np.float32) - 0.5) / 2).reshape(10)
        classes, _ = dcodr_npz.enumerate_values(np.array([identity[n] for n in chosen]))
        contents = None
        if attrs is not None:
            contents = np.array([[1 if int(v) > 0 else 0 for v in attrs[n]] for n in chosen], dtype=np.int64)
        dcodr_npz.save(os.path.join(a.out, f"celeba_x64_{split}.npz"), imgs, classes, contents=contents,
                       names=attr_names if contents is not None else None, landmarks=landmarks, compress=a.compress)


if __name__ == "__main__":
    main()
