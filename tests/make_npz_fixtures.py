# Writes tests/fixtures/npz/*.npz, small data sets in the layouts numpy itself produces, for
# tests/test_npz.cpp ("npz written by numpy ..."):
#   authors_compressed.npz  np.savez_compressed (deflated members) with the authors' members and
#                           extras dcodr must ignore unread (an object array, a bool array, float
#                           orig_contents) plus contents_names as a <U string array and landmarks
#   authors_stored.npz      the same through np.savez (stored members)
# Run: /usr/bin/python3 tests/make_npz_fixtures.py   (numpy only)
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "npz")
os.makedirs(out, exist_ok=True)
n = 6
imgs = (np.arange(n * 4 * 5 * 3) * 7 % 256).astype(np.uint8).reshape(n, 4, 5, 3)
members = dict(
    imgs=imgs,
    classes=np.array([0, 1, 2, 0, 1, 2], dtype=np.uint32),
    contents=np.array([[0, 3], [1, 2], [2, 1], [3, 0], [0, 1], [1, 2]], dtype=np.int64),
    n_classes=3,
    contents_names=np.array(["azimuth", "élévation"]),  # <U9; a non-ASCII name on purpose
    landmarks=(np.arange(n * 4, dtype=np.float32).reshape(n, 4) * 0.5 + 10),
    orig_contents=np.linspace(0, 1, n * 2).reshape(n, 2),
    contents_strings=np.array([["boot", "men"]] * n, dtype=object),
    is_flipped=np.zeros(n, dtype=bool),
)
np.savez_compressed(os.path.join(out, "authors_compressed.npz"), **members)
np.savez(os.path.join(out, "authors_stored.npz"), **members)
