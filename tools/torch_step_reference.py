#!/usr/bin/env python3
"""PyTorch eager reference for `dcodr bench step` on a GPU or a CPU (a measuring stick, not product).

Times the same DCoDR-norec training step as method/trainer.cpp Trainer::step:
  z = normalize(E(clean)), p = normalize(E(positive))      two passes, BN stats per pass
(the method as written and as PyTorch users run it; dcodr computes the same numbers in one pass
over both views with BN statistics per half, docs/design.md)
  loss = domain-wise contrastive loss (method/contrastive_loss.cpp)
  zero_grad (set to None), backward, loss.item() (NaN check: one host sync per step), Adam step
E = torchvision ResNet whose fc is Linear(feat -> hidden), then proj Linear(hidden -> code_dim),
optional head 3 x Linear(code -> code) with LeakyReLU(0.01) between (nn/dcodr_encoder.cpp).
--device cpu times the same step on the host with --threads intra-op threads (PyTorch's CPU
kernels, MKL-DNN where the build has it); tools/cpu-compare.sh alternates it with ours.
Images are pre-generated on the device: data loading, augmentation and host->device copies are
NOT timed. (Ours loads and augments in a background prefetcher, but its timed step still
waits for that batch, copies both views to the GPU and uploads the negative mask.)
Exit code 77 (skip) when torch/torchvision (or, for --device cuda, a CUDA GPU) is missing.
"""
import argparse, json, math, os, sys, time

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
p.add_argument("--threads", type=int, default=0, help="--device cpu: intra-op threads (0 = PyTorch's default)")
p.add_argument("--depth", type=int, default=50, choices=(18, 34, 50))
p.add_argument("--domains", type=int, default=4)             # TrainConfig: min(4, domains)
p.add_argument("--images-per-domain", type=int, default=32)
p.add_argument("--image-size", type=int, default=64)
p.add_argument("--hidden", type=int, default=2048)           # EncoderConfig defaults
p.add_argument("--code-dim", type=int, default=128)
p.add_argument("--head", action="store_true", help="add the optional 3-layer head")
p.add_argument("--tau", type=float, default=0.1)             # ContrastiveOptions / --tau default
p.add_argument("--lr", type=float, default=1e-4)             # TrainConfig.lr, betas (0.5, 0.999)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--repeats", type=int, default=20)
p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True,
               help="TF32 for cuDNN convolutions (PyTorch default: on)")
p.add_argument("--tf32-matmul", action="store_true",
               help="TF32 for cuBLAS matmuls too (PyTorch default: off); "
                    "--tf32 --tf32-matmul mirrors our --tf32, --no-tf32 mirrors ours without it")
p.add_argument("--cudnn-benchmark", action="store_true", help="cuDNN autotuning (default off, as ours)")
p.add_argument("--deterministic", action="store_true",
               help="deterministic cuDNN algorithms only (our engine's default; PyTorch's is off)")
p.add_argument("--adam", default="foreach", choices=("foreach", "fused", "single"),
               help="Adam implementation (foreach = PyTorch's CUDA default; ours is one kernel per tensor)")
p.add_argument("--profile", type=int, default=0, metavar="N",
               help="run N extra steps under torch.profiler; tables go next to --out")
p.add_argument("--out", help="also write the JSON result here")
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
if args.repeats < 1 or args.warmup < 0 or args.domains < 1 or args.images_per_domain < 2:
    p.error("need --repeats >= 1, --warmup >= 0, --domains >= 1, --images-per-domain >= 2")

try:  # a skip, never a traceback, where the reference cannot run
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
except Exception as e:  # ImportError, or a broken install (OSError on its shared libraries)
    print(f"torch_step_reference: SKIP: PyTorch/torchvision not importable ({type(e).__name__}: {e})",
          file=sys.stderr)
    sys.exit(77)
if args.device == "cuda" and not torch.cuda.is_available():
    print("torch_step_reference: SKIP: no CUDA GPU visible to PyTorch", file=sys.stderr)
    sys.exit(77)


def set_precision(conv_tf32, matmul_tf32):
    """TF32 switches. Since 2.9 the fp32_precision API replaces allow_tf32 and mixing the two
    raises, so only one generation is used."""
    mm, conv = torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None)
    try:  # not hasattr: old torch's matmul module raises AssertionError on unknown names
        new_api = isinstance(mm.fp32_precision, str) and isinstance(conv.fp32_precision, str)
    except Exception:
        new_api = False
    if new_api:
        mm.fp32_precision = "tf32" if matmul_tf32 else "ieee"
        conv.fp32_precision = "tf32" if conv_tf32 else "ieee"
        return {"api": "fp32_precision", "matmul": mm.fp32_precision, "cudnn_conv": conv.fp32_precision}
    mm.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul_tf32, conv_tf32
    return {"api": "allow_tf32", "matmul": mm.allow_tf32, "cudnn_conv": torch.backends.cudnn.allow_tf32}


class Encoder(nn.Module):
    """nn/dcodr_encoder.cpp DcodrEncoder: same module names (resnet.*, proj.*, head.0/2/4.*)."""

    def __init__(self, depth, hidden, code_dim, head):
        super().__init__()
        self.resnet = getattr(torchvision.models, f"resnet{depth}")(weights=None)
        self.resnet.fc = nn.Linear(self.resnet.fc.in_features, hidden)   # replace_fc
        self.proj = nn.Linear(hidden, code_dim)
        self.head = nn.Sequential(nn.Linear(code_dim, code_dim), nn.LeakyReLU(0.01),
                                  nn.Linear(code_dim, code_dim), nn.LeakyReLU(0.01),
                                  nn.Linear(code_dim, code_dim)) if head else None

    def forward(self, x):
        code = self.proj(self.resnet(x))                 # encode()
        return self.head(code) if self.head is not None else code


def contrastive_loss(z, pos_view, neg_mask, tau):
    """method/contrastive_loss.cpp contrastive_loss, domain_wise mode, max_negatives = 0."""
    pos = (z * pos_view).sum(1, keepdim=True) / tau                  # [B, 1]
    sim = (z @ z.t()) / tau                                          # [B, B]
    negs = torch.where(neg_mask, sim, torch.full_like(sim, -math.inf))
    logits = torch.cat([pos, negs], 1)
    return (torch.logsumexp(logits, 1) - pos.squeeze(1)).mean()      # -log softmax of column 0


def forward_flops(model, x):
    """Multiply-adds x 2 of every Conv2d and Linear in one forward pass of x (hooks): the
    step's arithmetic is ~3x this per view (forward, grad wrt input, grad wrt weights)."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        total[0] += 2 * out.numel() * k

    def linear_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return total[0]


def main():
    dev = torch.device(args.device)
    on_gpu = dev.type == "cuda"
    if on_gpu:
        precision = set_precision(args.tf32, args.tf32_matmul)
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        torch.backends.cudnn.deterministic = args.deterministic
    else:
        precision = "fp32 (CPU)"
        if args.threads > 0:
            torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = Encoder(args.depth, args.hidden, args.code_dim, args.head).to(dev).train()
    adam_kw = {"foreach": dict(foreach=True), "fused": dict(fused=True), "single": dict(foreach=False)}
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999), **adam_kw[args.adam])

    # Pre-generated "uint8" images in [0, 1]; the positive only has to be a different tensor.
    b, s = args.domains * args.images_per_domain, args.image_size
    clean = torch.randint(0, 256, (b, 3, s, s), device=dev).float().div_(255)
    positive = torch.flip(clean, dims=[3]).contiguous()
    # Negatives: the other clean anchors of the same domain (negative_mask, built once here;
    # ours builds it on the host and uploads it every step).
    domains = torch.arange(args.domains, device=dev).repeat_interleave(args.images_per_domain)
    neg_mask = (domains[:, None] == domains[None, :]) & ~torch.eye(b, dtype=torch.bool, device=dev)

    def step():
        z = F.normalize(model(clean), dim=1)          # l2_normalize: x / max(|x|, 1e-12)
        pv = F.normalize(model(positive), dim=1)
        loss = contrastive_loss(z, pv, neg_mask, args.tau)
        opt.zero_grad(set_to_none=True)               # ours: Adam::zero_grad resets the grads
        loss.backward()
        value = loss.item()                           # ours checks isfinite: one sync per step
        if not math.isfinite(value):
            raise SystemExit(f"torch_step_reference: loss is {value}")
        opt.step()
        return value

    step_gflop = 2 * 3 * forward_flops(model, clean) / 1e9   # two views, ~3x forward each
    for _ in range(args.warmup):
        step()
    if not on_gpu:
        return finish_cpu(step, b, s, step_gflop, precision)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    # Events are recorded on the stream around each step and read once at the end, so no
    # extra sync is added: like ours, the only per-step sync is loss.item().
    events, wall_ms = [], []
    for _ in range(args.repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        start.record()
        last_loss = step()
        end.record()
        wall_ms.append((time.perf_counter() - t0) * 1e3)   # host view, as our steady_clock
        events.append((start, end))
    torch.cuda.synchronize()
    ms = sorted(a.elapsed_time(e) for a, e in events)
    median = ms[len(ms) // 2]   # as our bench's median_of: upper middle
    props = torch.cuda.get_device_properties(dev)
    r = {
        "benchmark": "train_step_torch_reference",
        "device": str(dev),
        "config": {"depth": args.depth, "width": 1.0, "hidden": args.hidden, "code_dim": args.code_dim,
                   "head": args.head, "loss": "domain_wise", "tau": args.tau, "max_negatives": 0,
                   "image_size": s, "domains_per_batch": args.domains,
                   "images_per_domain": args.images_per_domain, "lr": args.lr, "beta1": 0.5, "beta2": 0.999},
        "batch_anchors": b,
        "warmup": args.warmup, "repeats": args.repeats,
        "median_ms": median, "min_ms": ms[0], "max_ms": ms[-1],
        "wall_median_ms": sorted(wall_ms)[len(wall_ms) // 2],
        "images_per_second": 2.0 * b / (median / 1e3),
        "last_loss": last_loss,
        "peak_allocated_bytes": torch.cuda.max_memory_allocated(dev),
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(dev),
        "timing": "CUDA events around forward x2 + loss + zero_grad + backward + loss.item() + Adam step; "
                  "inputs pre-generated on the GPU, data loading/augmentation/H2D copies excluded",
        "settings": {"tf32": precision, "cudnn_benchmark": args.cudnn_benchmark,
                     "cudnn_deterministic": args.deterministic, "adam": args.adam, "memory_format": "NCHW"},
        "gpu": f"{props.name} (sm_{props.major}{props.minor}, {props.total_memory / 2**30:.1f} GiB)",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                     "python": sys.version.split()[0]},
    }
    if args.profile > 0:
        r["profile_file"] = profile(step, args.profile)
    text = json.dumps(r, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


def finish_cpu(step, b, s, step_gflop, precision):
    """The CPU timing: host clock around each step (a CPU step ends when it returns)."""
    import resource
    ms = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        last_loss = step()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    median = ms[len(ms) // 2]   # as our bench's median_of: upper middle
    r = {
        "benchmark": "train_step_torch_reference",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "config": {"depth": args.depth, "width": 1.0, "hidden": args.hidden, "code_dim": args.code_dim,
                   "head": args.head, "loss": "domain_wise", "tau": args.tau, "image_size": s,
                   "domains_per_batch": args.domains, "images_per_domain": args.images_per_domain,
                   "lr": args.lr, "beta1": 0.5, "beta2": 0.999},
        "batch_anchors": b,
        "warmup": args.warmup, "repeats": args.repeats,
        "median_ms": median, "min_ms": ms[0], "max_ms": ms[-1],
        "images_per_second": 2.0 * b / (median / 1e3),
        "step_gflop": step_gflop,
        "gflop_per_second": step_gflop / (median / 1e3),
        "last_loss": last_loss,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "timing": "host clock around forward x2 + loss + zero_grad + backward + loss.item() + Adam step; "
                  "inputs pre-generated, data loading/augmentation excluded",
        "settings": {"precision": precision, "mkldnn": torch.backends.mkldnn.is_available(),
                     "memory_format": "NCHW"},
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "python": sys.version.split()[0]},
    }
    text = json.dumps(r, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


def profile(step, n):
    """N steps under torch.profiler; top-30 by self device time (kernels) and by inclusive
    device time (ops), for comparing per-op breakdowns with ours."""
    from torch.profiler import ProfilerActivity, profile as tprofile
    with tprofile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(n):
            step()
        torch.cuda.synchronize()
    avg = prof.key_averages()
    tables = []
    for key in ("self_device_time_total", "device_time_total"):
        try:
            tables.append(f"== top 30 by {key} ({n} steps)\n" + avg.table(sort_by=key, row_limit=30))
        except Exception:  # older torch names the columns cuda_time
            key = key.replace("device", "cuda")
            tables.append(f"== top 30 by {key} ({n} steps)\n" + avg.table(sort_by=key, row_limit=30))
    path = (os.path.splitext(args.out)[0] if args.out else "torch_step_reference") + ".profile.txt"
    with open(path, "w") as f:
        f.write("\n\n".join(tables) + "\n")
    return path


if __name__ == "__main__":
    main()
