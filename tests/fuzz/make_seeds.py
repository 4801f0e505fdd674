#!/usr/bin/env python3
"""Writes the valid seeds of the fuzz corpus (corpus/<parser>/): small well-formed inputs the
mutator starts from. The bad-input corpus (../bad_inputs) is copied in as further seeds; the
image seeds were written with stb_image_write. Run: python3 make_seeds.py"""
import json, os, struct, sys, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bad_inputs"))
from make_bad_inputs import npy, zip_bytes, i64  # noqa: E402  (writes nothing when imported)


def put(kind, name, data):
    os.makedirs(os.path.join(HERE, "corpus", kind), exist_ok=True)
    with open(os.path.join(HERE, "corpus", kind, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


imgs = npy("|u1", (4, 2, 2, 3), bytes(range(48)))
put("npy", "u1_4d.npy", imgs)
put("npy", "i8_vec.npy", npy("<i8", (3,), i64([0, 1, 2])))
put("npy", "f4_2d.npy", npy("<f4", (2, 2), struct.pack("<4f", 0, 0.5, 1, 0.25)))
put("npy", "f8_scalar.npy", npy("<f8", (), struct.pack("<d", 4.0)))
members = [("imgs.npy", imgs), ("classes.npy", npy("<i8", (4,), i64([0, 1, 0, 1]))),
           ("contents.npy", npy("<i8", (4, 2), i64([0, 1, 2, 3, 0, 1, 2, 3]))),
           ("n_classes.npy", npy("<i8", (), i64([2])))]
put("npz", "valid.npz", zip_bytes(members))


def zip64_entry(e):  # a valid ZIP64 extra field for the first member
    e["size"] = e["csize"] = 0xFFFFFFFF
    e["extra"] = struct.pack("<HHQQ", 0x0001, 16, len(imgs), len(imgs))
put("npz", "zip64_extra.npz", zip_bytes(members[:2], zip64_entry))
config = {"depth": 18, "width": 0.125, "hidden": 64, "code_dim": 32, "head": False, "loss": "domain_wise",
          "tau": 0.1, "max_negatives": 0, "image_size": 16, "domains_per_batch": 0, "images_per_domain": 8,
          "augmentations": "blur,crop", "lr": 0.001, "beta1": 0.5, "beta2": 0.999, "epochs": 200, "max_steps": 5,
          "lr_step_epochs": 30, "lr_gamma": 0.33, "clip_grad_norm": 0, "seed": 5, "checkpoint_every": 0}
put("json", "config.json", json.dumps(config))
put("json", "values.json", '{"a": [1, -2.5e-3, true, null, "x\\u00e9\\n"], "b": {"c": 1e308}}')
put("csv", "plain.csv", "path,domain\na.png,0\na.png,1\n")
put("csv", "attrs.csv", 'path,domain,colour,size\n"a.png",red,1,small\na.png,blue,2,large\r\n')
put("csv", "bom.csv", "\ufeffpath,domain\na.png,x\n")
