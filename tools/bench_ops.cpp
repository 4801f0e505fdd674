// Kernel benchmark: a 1024³ float32 GEMM as the machine's yardstick, then conv2d forward,
// backward-data and backward-filter at every distinct conv shape of ResNet-18 on a batch of
// 64 RGB 64x64 images, and at the 64x64 convolutions of DCoDR's generator (the paper's width
// and the demo's, a batch of 16), each as median milliseconds and GFLOP/s. Conv throughput is reported
// relative to the GEMM: im2col convolution is a GEMM plus copies, so the ratio says how much
// the copies and the conv's GEMM shapes cost.
#include "tools/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tools/args.h"

namespace dcodr::tools {

namespace {

struct Options {
    int repeats = 5;
    int threads = 0;  // 0: keep the default (DCODR_THREADS or all cores)
    bool quick = false;
};

// One conv shape of ResNet-18; `count` is how many convs of the network share it.
struct ConvLayer {
    const char* name;
    int count;
    std::int64_t cin, cout, k, stride, pad, in_hw;
};

// ResNet-18's convs for an image of `image` pixels square (the stem and max pool divide it by 4).
std::vector<ConvLayer> resnet18_convs(std::int64_t image) {
    std::int64_t s1 = image / 4, s2 = s1 / 2, s3 = s2 / 2, s4 = s3 / 2;
    return {
        {"conv1 7x7/2 3->64", 1, 3, 64, 7, 2, 3, image},
        {"layer1 3x3 64->64", 4, 64, 64, 3, 1, 1, s1},
        {"layer2 3x3/2 64->128", 1, 64, 128, 3, 2, 1, s1},
        {"layer2 3x3 128->128", 3, 128, 128, 3, 1, 1, s2},
        {"layer2 downsample 1x1/2 64->128", 1, 64, 128, 1, 2, 0, s1},
        {"layer3 3x3/2 128->256", 1, 128, 256, 3, 2, 1, s2},
        {"layer3 3x3 256->256", 3, 256, 256, 3, 1, 1, s3},
        {"layer3 downsample 1x1/2 128->256", 1, 128, 256, 1, 2, 0, s2},
        {"layer4 3x3/2 256->512", 1, 256, 512, 3, 2, 1, s3},
        {"layer4 3x3 512->512", 3, 512, 512, 3, 1, 1, s4},
        {"layer4 downsample 1x1/2 256->512", 1, 256, 512, 1, 2, 0, s3},
    };
}

// The generator's convolutions at full resolution (64x64), where its cost is: the last AdaIN
// block's 3x3 and the two output layers, at the paper's width (256) and the demo's (16).
std::vector<ConvLayer> generator_convs() {
    return {
        {"paper 3x3 256->256", 1, 256, 256, 3, 1, 1, 64},
        {"paper 5x5 256->64", 1, 256, 64, 5, 1, 2, 64},
        {"paper 7x7 64->3", 1, 64, 3, 7, 1, 3, 64},
        {"demo 3x3 16->16", 1, 16, 16, 3, 1, 1, 64},
        {"demo 5x5 16->4", 1, 16, 4, 5, 1, 2, 64},
        {"demo 7x7 4->3", 1, 4, 3, 7, 1, 3, 64},
    };
}

// Three untimed warm-up calls first: the first calls with a new tensor size page-fault their
// fresh output memory (about 2 ms per MB on the 2-core VM) until the allocator recycles it,
// which is the steady state of training.
constexpr int kWarmup = 3;
template <class F>
double median_ms(int repeats, F&& f) {
    return time_ms(repeats, [&](std::int64_t) { f(); }, kWarmup).median;
}

double gflops(double flop, double ms) { return flop / (ms * 1e6); }

}  // namespace

int bench_ops_main(int argc, char** argv) {
    Args args("bench ops", "Time the kernels against the GEMM yardstick (JSON on stdout).", argc - 1, argv + 1);
    args.option("repeats", "5", "timed runs of each kernel (the best and the median are reported)");
    args.option("threads", "0", "CPU threads (0 = DCODR_THREADS or all cores)");
    args.flag("quick", "small shapes and 1 repeat (unless --repeats is given): a smoke run");
    if (args.parse()) return 0;
    Options o;
    o.quick = args.enabled("quick");
    o.repeats = static_cast<int>(args.integer("repeats"));
    o.threads = static_cast<int>(args.integer("threads"));
    if (o.repeats < 1 || o.repeats > 100000) usage_error("--repeats must be in [1, 100000], got {}", o.repeats);
    if (o.threads < 0 || o.threads > 1024) usage_error("--threads must be in [0, 1024], got {}", o.threads);
    if (o.threads > 0) set_num_threads(o.threads);
    if (o.quick && o.repeats == 5) o.repeats = 1;
    std::int64_t mm = o.quick ? 256 : 1024, batch = o.quick ? 2 : 64, image = o.quick ? 32 : 64;

    Tensor a = Tensor::uniform({mm, mm}, -1, 1, 1), b = Tensor::uniform({mm, mm}, -1, 1, 2);
    // The yardstick is the best of several runs: Eigen's threaded GEMM is bimodal on a shared
    // 2-core VM (about half speed whenever one thread lags), and a slow yardstick would flatter
    // the conv ratios. The GEMM is short, so it gets 3x the repeats.
    Timing mm_t = time_ms(3 * o.repeats, [&](std::int64_t) { kernels::matmul(a, b); }, kWarmup);
    double mm_gf = gflops(2.0 * mm * mm * mm, mm_t.best);

    std::string out = "{\n";
    out += fmt::format("  \"threads\": {}, \"repeats\": {}, \"batch\": {}, \"image\": {},\n", num_threads(),
                       o.repeats, batch, image);
    out += fmt::format(
        "  \"matmul\": {{\"m\": {0}, \"n\": {0}, \"k\": {0}, \"ms\": {1:.3f}, \"gflops\": {2:.1f}, "
        "\"median_ms\": {3:.3f}, \"median_gflops\": {4:.1f}}},\n",
        mm, mm_t.best, mm_gf, mm_t.median, gflops(2.0 * mm * mm * mm, mm_t.median));
    // One JSON line per shape: the three passes' median ms, GFLOP/s and ratio to the GEMM.
    struct Measured {
        std::string json;
        double ms, flop, worst_ratio;  // all three passes, times the layer's count
    };
    auto bench_layer = [&](const ConvLayer& l, std::int64_t n, bool last) {
        double worst_ratio = 1e30;
        Conv2dParams p;
        p.stride_h = p.stride_w = l.stride;
        p.pad_h = p.pad_w = l.pad;
        Shape xs{n, l.cin, l.in_hw, l.in_hw}, ws{l.cout, l.cin, l.k, l.k};
        Tensor x = Tensor::uniform(xs, -1, 1, 3), w = Tensor::uniform(ws, -1, 1, 4);
        Tensor y = kernels::conv2d_forward(x, w, p);
        Tensor gy = Tensor::uniform(y.shape(), -1, 1, 5);
        double flop = 2.0 * static_cast<double>(y.numel()) * l.cin * l.k * l.k;  // per pass
        double f_ms = median_ms(o.repeats, [&] { kernels::conv2d_forward(x, w, p); });
        double d_ms = median_ms(o.repeats, [&] { kernels::conv2d_backward_data(gy, w, xs, p); });
        double w_ms = median_ms(o.repeats, [&] { kernels::conv2d_backward_filter(x, gy, ws, p); });
        auto pass = [&](double ms) {
            worst_ratio = std::min(worst_ratio, gflops(flop, ms) / mm_gf);
            return fmt::format("{{\"ms\": {:.3f}, \"gflops\": {:.1f}, \"ratio\": {:.2f}}}", ms, gflops(flop, ms),
                               gflops(flop, ms) / mm_gf);
        };
        Measured m{"", l.count * (f_ms + d_ms + w_ms), l.count * 3 * flop, 0};
        m.json = fmt::format(
            "    {{\"name\": \"{}\", \"count\": {}, \"x\": [{}, {}, {}, {}], \"w\": [{}, {}, {}, {}], "
            "\"stride\": {}, \"pad\": {}, \"gflop\": {:.3f},\n     \"forward\": {}, \"backward_data\": {}, "
            "\"backward_filter\": {}}}{}\n",
            l.name, l.count, xs[0], xs[1], xs[2], xs[3], ws[0], ws[1], ws[2], ws[3], l.stride, l.pad, flop / 1e9,
            pass(f_ms), pass(d_ms), pass(w_ms), last ? "" : ",");
        m.worst_ratio = worst_ratio;
        return m;
    };
    double total_ms = 0, total_flop = 0, worst_ratio = 1e30;
    out += "  \"conv\": [\n";
    std::vector<ConvLayer> layers = resnet18_convs(image);
    for (std::size_t li = 0; li < layers.size(); ++li) {
        Measured m = bench_layer(layers[li], batch, li + 1 == layers.size());
        out += m.json;
        total_ms += m.ms;
        total_flop += m.flop;
        worst_ratio = std::min(worst_ratio, m.worst_ratio);
    }
    out += "  ],\n";
    // The generator's shapes are reported beside ResNet-18's, not added to its totals.
    if (!o.quick) {
        out += "  \"generator_conv\": [\n";
        std::vector<ConvLayer> gen = generator_convs();
        for (std::size_t li = 0; li < gen.size(); ++li) out += bench_layer(gen[li], 16, li + 1 == gen.size()).json;
        out += "  ],\n";
    }
    // All three passes of every conv in the network (conv1's backward-data included, though
    // training skips it: its input needs no gradient).
    out += fmt::format(
        "  \"total\": {{\"ms\": {:.3f}, \"gflops\": {:.1f}, \"conv_to_matmul_ratio\": {:.2f}, "
        "\"worst_pass_ratio\": {:.2f}}}\n}}\n",
        total_ms, gflops(total_flop, total_ms), gflops(total_flop, total_ms) / mm_gf, worst_ratio);
    std::fputs(out.c_str(), stdout);
    return 0;
}

}  // namespace dcodr::tools
