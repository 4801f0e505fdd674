"""Tiny stand-ins, in the original formats, for the five data sets tools/preprocess reads, and the
checks of what the scripts make of them. Used by tests/test_preprocess.sh.

    python3 tests/preprocess_standins.py make DIR          # writes DIR/{cars,norb,3dshapes.h5,celeba,...}
    python3 tests/preprocess_standins.py check NAME OUTDIR  # checks OUTDIR/<NAME>_*.npz against them

Every image is flat (constant per channel), its value encoding the labels it was written with,
so that a check can tell whether each output image carries the labels of its source view.
"""
import gzip
import io
import os
import sys
import tarfile

import numpy as np

CARS, NORB_N = 3, 30


def make_cars(d):
    import scipy.io as sio
    os.makedirs(d, exist_ok=True)
    for car in range(CARS):
        im = np.zeros((128, 128, 3, 24, 4), dtype=np.uint8)
        for az in range(24):
            for el in range(4):
                im[:, :, 0, az, el] = el * 24 + az
                im[:, :, 1, az, el] = 50 * car
        sio.savemat(os.path.join(d, f"car_{car + 1:03d}_mesh.mat"), {"im": im})


def norb_matrix(path, array, magic, gz):
    dims = list(array.shape) + [1] * (3 - array.ndim)
    raw = np.array([magic, array.ndim] + dims, dtype="<i4").tobytes() + array.astype(array.dtype.newbyteorder("<")).tobytes()
    with (gzip.open(path + ".gz", "wb") if gz else open(path, "wb")) as f:
        f.write(raw)


def make_norb(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.RandomState(0)
    # two categories and two instances of each half: 8 objects, ~7 images each
    for half, instances, gz in (("5x46789x9x18x6x2x96x96-training", [4, 9], True),
                                ("5x01235x9x18x6x2x96x96-testing", [0, 5], False)):
        cat = rng.choice([1, 4], NORB_N).astype(np.int32)
        info = np.stack([rng.choice(instances, NORB_N), rng.randint(0, 9, NORB_N), 2 * rng.randint(0, 18, NORB_N),
                         rng.randint(0, 6, NORB_N)], axis=1).astype(np.int32)
        dat = np.zeros((NORB_N, 2, 96, 96), dtype=np.uint8)
        for i in range(NORB_N):
            dat[i, 0] = cat[i] * 10 + info[i, 0]          # left camera: the object id
            dat[i, 1] = 200 + info[i, 3]                   # right camera: something else
        norb_matrix(os.path.join(d, f"smallnorb-{half}-dat.mat"), dat, 0x1E3D4C55, gz)
        norb_matrix(os.path.join(d, f"smallnorb-{half}-cat.mat"), cat, 0x1E3D4C54, gz)
        norb_matrix(os.path.join(d, f"smallnorb-{half}-info.mat"), info, 0x1E3D4C54, gz)


def make_shapes(path):
    import h5py
    rng = np.random.RandomState(1)
    n = 160
    values = [np.linspace(0, 0.9, 10)] * 3 + [np.linspace(0.75, 1.25, 8), np.arange(4.0), np.linspace(-30, 30, 15)]
    labels = np.stack([v[rng.randint(0, len(v), n)] for v in values], axis=1)
    labels[:8, 4] = np.arange(8) % 4  # every shape present
    images = np.zeros((n, 64, 64, 3), dtype=np.uint8)
    images[..., 0] = (labels[:, 4] * 60).astype(np.uint8)[:, None, None]          # shape
    images[..., 1] = np.round(labels[:, 0] * 100).astype(np.uint8)[:, None, None]  # floor hue
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["labels"] = labels


def make_celeba(d):
    from PIL import Image
    os.makedirs(os.path.join(d, "img_align_celeba"), exist_ok=True)
    ids, marks, attrs = [], [], []
    for i in range(40):
        person = 1000 + i % 8  # 8 identities, 5 images each
        name = f"{i + 1:06d}.jpg"
        img = np.full((218, 178, 3), 30, dtype=np.uint8)
        img[45:173, 25:153] = (person - 1000) * 30  # the crop carries the identity
        Image.fromarray(img).save(os.path.join(d, "img_align_celeba", name), quality=100)
        ids.append(f"{name} {person}")
        # eyes at (69, 111) and (109, 111) ... in the 178 x 218 image
        xy = [69, 111, 109, 111, 89, 135, 73, 152, 105, 152 + i % 3]
        marks.append(name + " " + " ".join(str(v) for v in xy))
        attrs.append(f"{name} {1 if i % 2 else -1} {-1} {1 if person % 3 else -1}")
    with open(os.path.join(d, "identity_CelebA.txt"), "w") as f:
        f.write("\n".join(ids) + "\n")
    with open(os.path.join(d, "list_landmarks_align_celeba.txt"), "w") as f:
        f.write("40\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
                "rightmouth_x rightmouth_y\n" + "\n".join(marks) + "\n")
    with open(os.path.join(d, "list_attr_celeba.txt"), "w") as f:
        f.write("40\nSmiling Bald Young\n" + "\n".join(attrs) + "\n")


def make_edges2shoes(d):
    from PIL import Image
    import scipy.io as sio
    os.makedirs(d, exist_ok=True)
    with tarfile.open(os.path.join(d, "edges2shoes.tar.gz"), "w:gz") as tar:
        for split, numbers in (("train", range(1, 9)), ("val", range(1, 5))):
            for n in numbers:
                ab = np.full((256, 512, 3), 255, dtype=np.uint8)
                ab[:, 100, :] = 0                               # a one-pixel line in the drawing
                ab[:, 256:] = (n * 20, 40 if split == "train" else 90, 200)  # the photo's colour
                buf = io.BytesIO()
                Image.fromarray(ab).save(buf, format="JPEG", quality=100, subsampling=0)
                info = tarfile.TarInfo(f"edges2shoes/{split}/{n}_AB.jpg")
                info.size = buf.tell()
                buf.seek(0)
                tar.addfile(info, buf)
    z = os.path.join(d, "ut-zap50k")
    os.makedirs(os.path.join(z, "ut-zap50k-images", "Boots"), exist_ok=True)
    os.makedirs(os.path.join(z, "ut-zap50k-data"), exist_ok=True)
    paths, rows = [], ["CID,Category,SubCategory,Closure,Gender,Material,ToeStyle"]
    for k, (cat, gender) in enumerate([("Boots", "Men"), ("Shoes", "Women;Girls"), ("Sandals", ""), ("Boots", "Women")]):
        rel = f"Boots/{k}.jpg"
        Image.fromarray(np.full((102, 136, 3), (k * 50, 40, 200), dtype=np.uint8)).save(
            os.path.join(z, "ut-zap50k-images", rel), quality=100)
        paths.append(rel)
        rows.append(f"{k},{cat},x,Lace up,{gender},Leather,Round")
    with open(os.path.join(z, "ut-zap50k-data", "meta-data.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    cell = np.empty((len(paths), 1), dtype=object)
    for i, p in enumerate(paths):
        cell[i, 0] = np.array([p])
    sio.savemat(os.path.join(z, "ut-zap50k-data", "image-path.mat"), {"imagepath": cell})


def load(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def check(name, out):
    def ok(cond, what):
        if not cond:
            sys.exit(f"FAIL {name}: {what}")

    files = {"cars3d": ["cars3d_train", "cars3d_test"], "smallnorb": ["smallnorb_train", "smallnorb_test"],
             "shapes3d": ["shapes3d__class_shape__train", "shapes3d__class_shape__test",
                          "shapes3d__class_shape__train__reduced_100"],
             "celeba": ["celeba_x64_train", "celeba_x64_test"],
             "edges2shoes": ["edges2shoes_x64_train", "edges2shoes_x64_test"]}[name]
    parts = [load(os.path.join(out, f + ".npz")) for f in files]
    total = sum(len(p["classes"]) for p in parts[:2])
    for p in parts:
        ok(len(p["imgs"]) > 0, "an empty split")
        ok(p["imgs"].dtype == np.uint8 and p["imgs"].shape[1:3] == (64, 64), f"imgs {p['imgs'].shape} {p['imgs'].dtype}")
        ok(len(p["classes"]) == len(p["imgs"]), "classes length")
    if name == "cars3d":
        ok(total == CARS * 96, f"{total} images, expected {CARS * 96}")
        for p in parts[:2]:
            ok(list(p["contents_names"]) == ["elevation_azimuth"], p["contents_names"])
            ok((p["imgs"][:, 10, 10, 0] == p["contents"][:, 0]).all(), "content label != the view it came from")
            ok((p["imgs"][:, 10, 10, 1] == 50 * p["classes"]).all(), "car label != the car it came from")
            ok(int(p["n_classes"]) == CARS, "n_classes")
        ok(len(parts[1]["classes"]) == CARS * round(96 * 0.1), "10% of every car held out")
    elif name == "smallnorb":
        ok(total == 2 * NORB_N, f"{total} images, expected {2 * NORB_N} (left camera only)")
        for p in parts[:2]:
            ok(p["imgs"].shape[3] == 1, "one channel")
            ok(list(p["contents_names"]) == ["azimuth", "elevation", "lighting"], p["contents_names"])
            ok((p["imgs"][:, 5, 5, 0] == p["classes"]).all(), "object label != the left image it came from")
            ok(p["contents"][:, 0].max() <= 17, "azimuth stored as its step 0..17")
            ok(int(p["n_classes"]) == 50, "n_classes")
    elif name == "shapes3d":
        ok(total == 160, f"{total} images")
        ok(len(parts[2]["classes"]) == 100, "reduced training subset of 100")
        train_imgs = {p.tobytes() for p in parts[0]["imgs"]}
        ok(all(p.tobytes() in train_imgs for p in parts[2]["imgs"]), "the subset is drawn from the training split")
        for p in parts:
            ok(list(p["contents_names"]) == ["floor_hue", "wall_hue", "object_hue", "scale", "orientation"],
               p["contents_names"])
            ok((p["imgs"][:, 0, 0, 0] == 60 * p["classes"]).all(), "shape label != the image's shape")
            floor = np.linspace(0, 0.9, 10)[p["contents"][:, 0]]
            ok((p["imgs"][:, 0, 0, 1] == np.round(floor * 100)).all(), "floor hue id != the image's floor hue")
            ok(p["contents"].max(axis=0).tolist() <= [9, 9, 9, 7, 14], "factor ids dense")
    elif name == "celeba":
        ok(total == 40, f"{total} images")
        train_ids = set(parts[0]["imgs"][:, 32, 32, 0].tolist())
        test_ids = set(parts[1]["imgs"][:, 32, 32, 0].tolist())
        ok(train_ids and test_ids and not train_ids & test_ids, "train and test identities are disjoint")
        for p in parts:
            ok(list(p["contents_names"]) == ["Smiling", "Bald", "Young"], p["contents_names"])
            ok(p["landmarks"].dtype == np.float32 and p["landmarks"].shape[1] == 10, "landmarks [N, 10] float32")
            # the left eye at (69, 111) of the 178 x 218 image: ((69 - 25 - 0.5) / 2, (111 - 45 - 0.5) / 2)
            ok(np.allclose(p["landmarks"][:, :2], [21.75, 32.75]), f"left eye at {p['landmarks'][0, :2]}")
            # images of one identity share a class; different identities do not
            by_class = {}
            for c, v in zip(p["classes"], p["imgs"][:, 32, 32, 0]):
                by_class.setdefault(int(c), set()).add(int(v))
            ok(all(len(v) == 1 for v in by_class.values()), "a class holds one identity")
            ok(len({next(iter(v)) for v in by_class.values()}) == len(by_class), "an identity has one class")
    elif name == "edges2shoes":
        ok(total == 24, f"{total} images (12 pairs)")
        for p in parts:
            ok(list(p["contents_names"]) == ["shoe_type", "gender", "closure", "material", "toe_style"],
               p["contents_names"])
            photo = p["classes"] == 0
            ok((p["imgs"][photo, 32, 32, 2] > 150).all(), "domain 0 is the photo")
            ok((p["imgs"][~photo, 32, 32, 2] > 240).all(), "domain 1 is the drawing (white background)")
            # the one-pixel line at x = 100 is 5 pixels wide after thickening: columns 98..102
            # -> 64-pixel columns 24 and 25 (source columns 97, 98 and 101, 102) go dark
            ok((p["imgs"][~photo, 32, 24:26, 0] < 140).all() and (p["imgs"][~photo, 32, 23, 0] > 230).all(),
               f"drawing line columns {p['imgs'][~photo][0, 32, 20:28, 0].tolist()}")
            # pair n's photo has red n * 20; Zappos image k has red k * 50 and is (Boots, Men),
            # (Shoes, Women;Girls), (Sandals, missing), (Boots, Women): numbered in sorted order
            # shoe_type Boots 0, Sandals 1, Shoes 2 and gender Men 0, Other 1, Women 2.
            red = p["imgs"][photo, 32, 32, 0].astype(int)
            k = np.round(red / 50).astype(int)
            ok((p["contents"][photo, 0] == np.array([0, 2, 1, 0])[k]).all(),
               f"shoe types {p['contents'][photo, 0].tolist()} for photo reds {red.tolist()}")
            ok((p["contents"][photo, 1] == np.array([0, 2, 1, 2])[k]).all(), "genders")

if __name__ == "__main__":
    if sys.argv[1] == "make":
        d = sys.argv[3]
        {"cars3d": lambda: make_cars(os.path.join(d, "cars")), "smallnorb": lambda: make_norb(os.path.join(d, "norb")),
         "shapes3d": lambda: make_shapes(os.path.join(d, "3dshapes.h5")),
         "celeba": lambda: make_celeba(os.path.join(d, "celeba")),
         "edges2shoes": lambda: make_edges2shoes(os.path.join(d, "e2s"))}[sys.argv[2]]()
    else:
        check(sys.argv[2], sys.argv[3])
    print(f"ok {sys.argv[1]} {sys.argv[2]}")
