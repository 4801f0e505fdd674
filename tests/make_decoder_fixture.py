#!/usr/bin/env python3
"""Writes tests/fixtures/dcodr-decoder-reference.json: DCoDR's decoder (the LORD generator the
authors use: domain embedding, AdaIN modulation, generator) and its VGG16 perceptual loss in
PyTorch float64, with weights and inputs defined by formulas, so the C++ side rebuilds the
same numbers without the weights being stored.

The modules below are written the way the authors' code writes them (nn.Sequential layouts,
AdaIN through F.batch_norm on [1, B*C, H, W], torchvision's vgg16().features with its in-place
ReLUs, taps 2, 7, 12, 21, 30 whose values the in-place ReLUs overwrite), so the fixture checks
our reading of that code, not a re-derivation of it.

Stored: the generated images, the reconstruction loss and its terms, and the norm of every
decoder parameter's gradient and of the code's gradient after backward of the loss.

Also writes tests/fixtures/vgg16-width1-32.pth: torch.save of a VGG16 `features` state dict at
1/32 of torchvision's widths (the layout and names of vgg16().features, formula weights), which
--perceptual-weights must read from PyTorch's own file format.

Usage (Debian's python3-torch + python3-torchvision):
    /usr/bin/python3 tests/make_decoder_fixture.py [output path]
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.set_default_dtype(torch.float64)

CODE_DIM, N_DOMAINS, DOMAIN_DIM, CHANNELS, IMAGE, IMAGE_CHANNELS = 8, 3, 16, 16, 32, 3
BATCH, DOMAINS = 2, [2, 0]
N_ADAIN = 4


class AdaptiveInstanceNorm2d(nn.Module):
    def __init__(self, idx):
        super().__init__()
        self.idx = idx
        self.weight = None
        self.bias = None

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        out = F.batch_norm(x.contiguous().view(1, b * c, *x.shape[2:]), None, None,
                           weight=self.weight.contiguous().view(-1), bias=self.bias.contiguous().view(-1),
                           training=True)
        return out.view(b, c, *x.shape[2:])


class Modulation(nn.Module):
    def __init__(self):
        super().__init__()
        self.adain_per_layer = nn.ModuleList([nn.Linear(DOMAIN_DIM, CHANNELS * 2) for _ in range(N_ADAIN)])

    def forward(self, x):
        return torch.cat([f(x) for f in self.adain_per_layer], dim=-1).reshape(-1, N_ADAIN, CHANNELS, 2)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.s0 = IMAGE // 2 ** N_ADAIN
        cells = self.s0 * self.s0
        self.fc_layers = nn.Sequential(
            nn.Linear(CODE_DIM, cells * (CHANNELS // 8)), nn.LeakyReLU(),
            nn.Linear(cells * (CHANNELS // 8), cells * (CHANNELS // 4)), nn.LeakyReLU(),
            nn.Linear(cells * (CHANNELS // 4), cells * CHANNELS), nn.LeakyReLU())
        layers = []
        for i in range(N_ADAIN):
            layers += [nn.Upsample(scale_factor=(2, 2)), nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1), nn.LeakyReLU(),
                       AdaptiveInstanceNorm2d(i)]
        self.adain_conv_layers = nn.Sequential(*layers)
        mid = max(CHANNELS // 4, 4)
        self.last_conv_layers = nn.Sequential(nn.Conv2d(CHANNELS, mid, 5, padding=2), nn.LeakyReLU(),
                                              nn.Conv2d(mid, IMAGE_CHANNELS, 7, padding=3), nn.Sigmoid())

    def forward(self, code, adain_params):
        for m in self.adain_conv_layers.modules():
            if isinstance(m, AdaptiveInstanceNorm2d):
                m.bias = adain_params[:, m.idx, :, 0]
                m.weight = adain_params[:, m.idx, :, 1]
        x = self.fc_layers(code).reshape(-1, CHANNELS, self.s0, self.s0)
        return self.last_conv_layers(self.adain_conv_layers(x))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.class_embedding = nn.Embedding(N_DOMAINS, DOMAIN_DIM)
        self.modulation = Modulation()
        self.generator = Generator()

    def forward(self, code, domains):
        return self.generator(code, self.modulation(self.class_embedding(domains)))


class VGGDistance(nn.Module):
    """The authors' perceptual loss: pixel L1 + L1 of VGG16 features at layer_ids, per sample."""

    def __init__(self, vgg_features, layer_ids=(2, 7, 12, 21, 30)):
        super().__init__()
        self.features = vgg_features
        self.layer_ids = layer_ids

    def taps(self, x):
        out = []
        for i in range(self.layer_ids[-1] + 1):
            x = self.features[i](x)
            if i in self.layer_ids:
                out.append(x)
        return out

    def forward(self, a, b):
        n = a.size(0)
        terms = [torch.abs(a - b).view(n, -1).mean(1)]
        fa, fb = self.taps(a), self.taps(b)
        for x, y in zip(fa, fb):
            terms.append(torch.abs(x - y).view(n, -1).mean(1))
        return sum(terms).mean(), [t.mean().item() for t in terms]


def rule_for(name, shape):
    if name.endswith("bias"):
        return "0.1*sin(0.7*i + 0.3*k)", None
    if name == "class_embedding.weight":
        return "0.1*sin(0.7*i + 0.3*k)", None
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    return "0.5*sqrt(3/fan_in)*sin(0.7*i + 0.3*k), fan_in=%d" % fan_in, fan_in


def apply_rules(module, prefix=""):
    specs = []
    with torch.no_grad():
        for k, (name, t) in enumerate(module.state_dict().items()):
            name = prefix + name
            rule, fan_in = rule_for(name, list(t.shape))
            i = torch.arange(t.numel(), dtype=torch.float64)
            s = torch.sin(0.7 * i + 0.3 * k)
            v = 0.1 * s if fan_in is None else 0.5 * math.sqrt(3.0 / fan_in) * s
            t.copy_(v.reshape(t.shape))
            specs.append({"name": name, "k": k, "shape": list(t.shape), "rule": rule})
    return specs


def write_narrow_vgg16_pth(path):
    layers, cin = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v // 32, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v // 32
    features = nn.Sequential(*layers).float()
    apply_rules(features)
    state = {"features." + k: v for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 2)  # as in vgg16(): present, not used
    torch.save(state, path)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/dcodr-decoder-reference.json"
    write_narrow_vgg16_pth("tests/fixtures/vgg16-width1-32.pth")
    decoder = Decoder()
    vgg = torchvision.models.vgg16(weights=None).features
    decoder_specs = apply_rules(decoder)
    vgg_specs = apply_rules(vgg, "features.")  # torchvision's names: vgg16().features.N
    for p in vgg.parameters():
        p.requires_grad_(False)

    n_code = BATCH * CODE_DIM
    raw = torch.tensor([math.sin(0.3 * i + 0.1) for i in range(n_code)]).reshape(BATCH, CODE_DIM)
    code = F.normalize(raw, dim=1).requires_grad_(True)
    n_img = BATCH * IMAGE_CHANNELS * IMAGE * IMAGE
    target = torch.tensor([0.5 + 0.5 * math.sin(0.05 * i) for i in range(n_img)]).reshape(
        BATCH, IMAGE_CHANNELS, IMAGE, IMAGE)

    images = decoder(code, torch.tensor(DOMAINS))
    loss, terms = VGGDistance(vgg)(images, target)
    loss.backward()

    fixture = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "dtype": "float64",
        "config": {"code_dim": CODE_DIM, "n_domains": N_DOMAINS, "domain_dim": DOMAIN_DIM, "channels": CHANNELS,
                   "image_size": IMAGE, "image_channels": IMAGE_CHANNELS},
        "inputs": {
            "code": "row-normalised sin(0.3*i + 0.1), i = row-major flat index, shape [%d, %d]" % (BATCH, CODE_DIM),
            "domains": DOMAINS,
            "target": "0.5 + 0.5*sin(0.05*i), i = row-major flat index, shape [%d, %d, %d, %d]"
                      % (BATCH, IMAGE_CHANNELS, IMAGE, IMAGE),
        },
        "weights_note": "k = position in the module's state_dict order; i = row-major flat index",
        "decoder_weights": decoder_specs,
        "vgg_weights": vgg_specs,
        "results": {
            "images": images.detach().flatten().tolist(),
            "loss": loss.item(),
            "terms": terms,
            "code_grad_norm": code.grad.norm().item(),
            "grad_norms": {n: p.grad.norm().item() for n, p in decoder.named_parameters()},
        },
    }
    with open(out_path, "w") as f:
        json.dump(fixture, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
