"""Shared helpers of the preprocessing scripts: the npz layout dcodr reads, splits, resizing.

The layout is the authors' (imgs uint8 N x H x W x C, classes int [N], contents int [N, K],
n_classes), plus `contents_names` (a numpy string array of the K attribute names) and, for CelebA,
`landmarks` float32 [N, D]. dcodr reads exactly these members and ignores any other.
Runs on the user's machine: Python 3.8+ with numpy (and PIL, scipy or h5py where a script says).
"""
import importlib
import os
import sys

import numpy as np

# The authors' preprocessing scripts seed numpy with 2 before splitting.
SEED = 2


def need(module, why):
    """Imports an optional module or exits with a message saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        sys.exit(f"this script needs the Python package '{package}' ({why}); install it, e.g. "
                 f"'pip install {'pillow' if package == 'PIL' else package}'")


def enumerate_values(values):
    """Maps each distinct value to its rank among the sorted distinct values (the authors'
    enumerate_cols): dense class ids 0..n-1."""
    uniques, ids = np.unique(values, return_inverse=True)
    return ids.astype(np.int64), uniques


def stratified_split(classes, test_fraction, seed=SEED):
    """Per class, round(n_c * test_fraction) images go to the test split (a seeded shuffle);
    the authors use sklearn's stratified train_test_split, which this approximates without
    sklearn (the exact images differ; the proportions do not). Returns sorted index arrays."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test.extend(idx[:n_test])
        train.extend(idx[n_test:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(test, dtype=np.int64))


def random_split(n, test_fraction, seed=SEED):
    rng = np.random.RandomState(seed)
    order = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def save(path, imgs, classes, contents=None, names=None, n_classes=None, landmarks=None, compress=False):
    """Writes one split in the layout dcodr reads (np.savez, as the authors do; --compress:
    np.savez_compressed, which dcodr reads too)."""
    imgs = np.ascontiguousarray(imgs, dtype=np.uint8)
    classes = np.asarray(classes, dtype=np.int64)
    members = dict(imgs=imgs, classes=classes,
                   n_classes=np.int64(n_classes if n_classes is not None else classes.max() + 1))
    if contents is not None:
        contents = np.asarray(contents, dtype=np.int64)
        if contents.ndim == 1:
            contents = contents[:, None]
        members["contents"] = contents
        if names is not None:
            assert len(names) == contents.shape[1], (names, contents.shape)
            members["contents_names"] = np.array(list(names))
    if landmarks is not None:
        members["landmarks"] = np.asarray(landmarks, dtype=np.float32)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.npz"  # written next to the target, renamed when complete
    (np.savez_compressed if compress else np.savez)(tmp, **members)
    os.replace(tmp, path)
    k = 0 if contents is None else contents.shape[1]
    print(f"wrote {path}: {len(classes)} images {imgs.shape[1]}x{imgs.shape[2]}"
          f"{'x' + str(imgs.shape[3]) if imgs.ndim == 4 else ''}, {members['n_classes']} domains, "
          f"{k} attributes{' ' + ','.join(names) if names else ''}"
          f"{', landmarks ' + str(members['landmarks'].shape[1]) if landmarks is not None else ''}")


def save_splits(out_dir, prefix, imgs, classes, train_idx, test_idx, compress=False, **per_image):
    """Writes <prefix>_train.npz and <prefix>_test.npz; per_image arrays are indexed too."""
    for split, idx in (("train", train_idx), ("test", test_idx)):
        kw = {k: (v[idx] if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == len(classes) else v)
              for k, v in per_image.items()}
        save(os.path.join(out_dir, f"{prefix}_{split}.npz"), imgs[idx], classes[idx], compress=compress, **kw)


def area_downscale(img, factor):
    """Integer-factor downscale by averaging factor x factor blocks, rounded half up: for a factor
    of 2 exactly what cv2.resize(INTER_LINEAR) computes (the authors' CelebA resize)."""
    h, w = img.shape[0] // factor * factor, img.shape[1] // factor * factor
    blocks = img[:h, :w].reshape(h // factor, factor, w // factor, factor, *img.shape[2:]).astype(np.int64)
    total = blocks.sum(axis=(1, 3))
    return ((total + factor * factor // 2) // (factor * factor)).astype(np.uint8)


def common_args(parser, default_out):
    parser.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    parser.add_argument("--test-fraction", type=float, default=0.1,
                        help="share of the images held out for testing (the authors: 0.1)")
    parser.add_argument("--compress", action="store_true", help="np.savez_compressed instead of np.savez")
