# Reference numbers for tests/test_augment.cpp ("rotation matches torchvision"): the authors'
# rotation (transforms.RandomAffine(degrees=(-40, 40), fill=255) on a PIL image, i.e.
# F.affine with nearest sampling) at two fixed angles, on an 8 x 8 RGB image whose red channel
# is 3 * i + 10. Prints the red channel of each result. Run with PyTorch 1.13 / torchvision 0.14:
#   /usr/bin/python3 tests/make_augment_fixture.py
import numpy as np
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

red = (np.arange(64).reshape(8, 8) * 3 + 10).astype(np.uint8)
rgb = np.stack([red, 255 - red, red // 2], -1)
for angle in (30.0, -25.0):
    out = F.affine(Image.fromarray(rgb), angle=angle, translate=[0, 0], scale=1.0, shear=[0.0, 0.0],
                   interpolation=InterpolationMode.NEAREST, fill=255)
    print(angle, np.array(out)[..., 0].flatten().tolist())
