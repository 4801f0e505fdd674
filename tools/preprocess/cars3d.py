#!/usr/bin/env python3
"""Cars3D -> cars3d_train.npz, cars3d_test.npz (dcodr's / the authors' npz layout).

Input: the folder of 183 car_*_mesh.mat files from Reed et al. (NeurIPS 2015, "Deep Visual
Analogy-Making"): http://www.scottreed.info/files/nips2015-analogy-data.tar.gz, folder data/cars.
Each file's `im` is 128 x 128 x 3 x 24 azimuths x 4 elevations (uint8).

As the authors' scripts/prepare_cars3d.py (through disentanglement_lib's loader): every view is
shrunk to 64 x 64 with PIL's antialiasing filter; the domain is the car (183); the one attribute
is elevation * 24 + azimuth (96 classes); images are ordered elevation-major, then azimuth, then
car; a split stratified by car holds 10% out. Cars are numbered in sorted file-name order.
Needs numpy, scipy (loadmat) and PIL.

    python3 tools/preprocess/cars3d.py --src data/cars --out data/
"""
import argparse
import glob
import os

import numpy as np

import dcodr_npz


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="folder holding the car_*_mesh.mat files")
    dcodr_npz.common_args(p, "data")
    a = p.parse_args()
    sio = dcodr_npz.need("scipy.io", "to read the .mat files")
    Image = dcodr_npz.need("PIL.Image", "to resize the views")
    files = sorted(glob.glob(os.path.join(a.src, "*.mat")))
    if not files:
        raise SystemExit(f"{a.src}: no .mat files (expected the 183 car_*_mesh.mat of the Reed et al. release)")
    n_cars, n_az, n_el = len(files), 24, 4
    imgs = np.zeros((n_el * n_az * n_cars, 64, 64, 3), dtype=np.uint8)
    classes = np.zeros(len(imgs), dtype=np.int64)
    contents = np.zeros(len(imgs), dtype=np.int64)
    for car, path in enumerate(files):
        im = sio.loadmat(path)["im"]
        if im.shape != (128, 128, 3, n_az, n_el):
            raise SystemExit(f"{path}: 'im' has shape {im.shape}, expected (128, 128, 3, 24, 4)")
        for az in range(n_az):
            for el in range(n_el):
                pic = Image.fromarray(np.ascontiguousarray(im[:, :, :, az, el]))
                pic.thumbnail((64, 64), Image.LANCZOS)  # disentanglement_lib: thumbnail with ANTIALIAS
                i = el * n_az * n_cars + az * n_cars + car
                imgs[i] = np.asarray(pic)
                classes[i] = car
                contents[i] = el * n_az + az
    train, test = dcodr_npz.stratified_split(classes, a.test_fraction)
    dcodr_npz.save_splits(a.out, "cars3d", imgs, classes, train, test, compress=a.compress, contents=contents,
                          names=["elevation_azimuth"], n_classes=n_cars)


if __name__ == "__main__":
    main()
