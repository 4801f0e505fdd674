// Kernel benchmark: a 1024³ float32 GEMM as the machine's yardstick, then conv2d forward,
// backward-data and backward-filter at every distinct conv shape of ResNet-18 on a batch of
// 64 RGB 64x64 images, and at the 64x64 convolutions of DCoDR's generator (the paper's width
// and the demo's, a batch of 16), each as median milliseconds and GFLOP/s. Conv throughput is reported
// relative to the GEMM: im2col convolution is a GEMM plus copies, so the ratio says how much
// the copies and the conv's GEMM shapes cost.
//
// The kernels are timed in rounds: each round runs the GEMM and then every pass of every shape,
// each kernel 3 times, and its time in a round is the best of those. A pass's ratio is the
// median over rounds of its GFLOP/s over the GEMM's in the same round, so both are measured
// alike and side by side. Timing one kernel's repeats back to back put all of a short pass's
// runs (0.3-0.6 ms for ResNet-18's downsamples) inside a few milliseconds, so a single stall of
// the shared VM moved that pass's median by up to 2x and the weakest ratio swung from 0.35 to
// 0.69 between sittings; alternated, a stall costs each kernel one round. The best of 3 is the
// yardstick's answer to Eigen's threaded GEMM being bimodal on this VM (about half speed
// whenever one thread lags), and the passes, threaded alike, get the same treatment. Each
// round's timed calls of a kernel follow one untimed call of it, so they find the operands in
// cache as a loop over one kernel does (the usual convention of kernel benchmarks, oneDNN's
// benchdnn included): the ratio measures the kernel, not where the previous kernel left the
// data. `--cold` times each pass once per round with no call before it: each pass then starts
// from the caches as the other kernels left them, as most passes do in a training step; the
// memory-bound passes (the 1x1/2 downsamples) fall furthest there.
#include "tools/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
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
    bool cold = false;  // no untimed call before each timed one (see the top of the file)
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

// Kernels timed in alternation: `rounds` rounds, each calling every kernel in order, after
// kWarmup untimed calls of each. A kernel added with `calls` = 3 is timed 3 times per round;
// with `warm`, each kernel's timed calls in a round follow one untimed call of it.
class Rounds {
public:
    int add(std::function<void()> f, int calls = 1) {
        kernels_.push_back({std::move(f), calls, {}});
        return static_cast<int>(kernels_.size()) - 1;
    }
    void run(int rounds, bool warm) {
        for (Kernel& k : kernels_)
            for (int i = 0; i < kWarmup; ++i) k.f();
        for (int r = 0; r < rounds; ++r)
            for (Kernel& k : kernels_) {
                if (warm) k.f();
                for (int c = 0; c < k.calls; ++c) {
                    const auto t0 = std::chrono::steady_clock::now();
                    k.f();
                    const auto elapsed = std::chrono::steady_clock::now() - t0;
                    k.ms.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
                }
            }
    }
    Timing timing(int id) const { return {median_of(ms(id)), *std::min_element(ms(id).begin(), ms(id).end())}; }
    // The median over the rounds of kernel id's time in each.
    double round_median(int id, int rounds) const {
        std::vector<double> per_round;
        for (int r = 0; r < rounds; ++r) per_round.push_back(round_ms(id, r));
        return median_of(per_round);
    }
    // Kernel id's milliseconds in round r (its best call there, if it has several).
    double round_ms(int id, int r) const {
        const Kernel& k = kernels_[static_cast<std::size_t>(id)];
        const auto first = k.ms.begin() + static_cast<std::ptrdiff_t>(r) * k.calls;
        return *std::min_element(first, first + k.calls);
    }
    const std::vector<double>& ms(int id) const { return kernels_[static_cast<std::size_t>(id)].ms; }

private:
    struct Kernel {
        std::function<void()> f;
        int calls;
        std::vector<double> ms;
    };
    std::vector<Kernel> kernels_;
};

double gflops(double flop, double ms) { return flop / (ms * 1e6); }

}  // namespace

int bench_ops_main(int argc, char** argv) {
    Args args("bench ops", "Time the kernels against the GEMM yardstick (JSON on stdout).", argc - 1, argv + 1);
    args.option("repeats", "5", "rounds; each times every kernel 3 times and keeps its best (the median over rounds is reported)");
    args.option("threads", "0", "CPU threads (0 = DCODR_THREADS or all cores)");
    args.flag("quick", "small shapes and 1 repeat (unless --repeats is given): a smoke run");
    args.flag("cold", "time each pass once per round, as the other kernels left the caches (no call of it just before)");
    if (args.parse()) return 0;
    Options o;
    o.quick = args.enabled("quick");
    o.cold = args.enabled("cold");
    o.repeats = static_cast<int>(args.integer("repeats"));
    o.threads = static_cast<int>(args.integer("threads"));
    if (o.repeats < 1 || o.repeats > 100000) usage_error("--repeats must be in [1, 100000], got {}", o.repeats);
    if (o.threads < 0 || o.threads > 1024) usage_error("--threads must be in [0, 1024], got {}", o.threads);
    if (o.threads > 0) set_num_threads(o.threads);
    if (o.quick && o.repeats == 5) o.repeats = 1;
    std::int64_t mm = o.quick ? 256 : 1024, batch = o.quick ? 2 : 64, image = o.quick ? 32 : 64;

    Tensor a = Tensor::uniform({mm, mm}, -1, 1, 1), b = Tensor::uniform({mm, mm}, -1, 1, 2);
    Rounds rounds;
    // Timed calls per round (see the top of the file): --cold times a pass's first call only.
    constexpr int kCallsPerRound = 3;
    const int pass_calls = o.cold ? 1 : kCallsPerRound;
    const int mm_id = rounds.add([&] { kernels::matmul(a, b); }, kCallsPerRound);

    // Every shape's operands, made up front so that the rounds can alternate the kernels.
    struct Bench {
        ConvLayer l;
        Shape xs, ws;
        Conv2dParams p;
        Tensor x, w, gy;
        double flop;  // per pass
        int forward, backward_data, backward_filter;  // Rounds ids
    };
    std::deque<Bench> benches;  // the kernels hold references to its elements: a deque keeps them in place
    auto add_layer = [&](const ConvLayer& l, std::int64_t n) {
        Bench& bn = benches.emplace_back();
        bn.l = l;
        bn.p.stride_h = bn.p.stride_w = l.stride;
        bn.p.pad_h = bn.p.pad_w = l.pad;
        bn.xs = {n, l.cin, l.in_hw, l.in_hw};
        bn.ws = {l.cout, l.cin, l.k, l.k};
        bn.x = Tensor::uniform(bn.xs, -1, 1, 3);
        bn.w = Tensor::uniform(bn.ws, -1, 1, 4);
        Tensor y = kernels::conv2d_forward(bn.x, bn.w, bn.p);
        bn.gy = Tensor::uniform(y.shape(), -1, 1, 5);
        bn.flop = 2.0 * static_cast<double>(y.numel()) * l.cin * l.k * l.k;
        bn.forward = rounds.add([&bn] { kernels::conv2d_forward(bn.x, bn.w, bn.p); }, pass_calls);
        bn.backward_data = rounds.add([&bn] { kernels::conv2d_backward_data(bn.gy, bn.w, bn.xs, bn.p); }, pass_calls);
        bn.backward_filter =
            rounds.add([&bn] { kernels::conv2d_backward_filter(bn.x, bn.gy, bn.ws, bn.p); }, pass_calls);
    };
    const std::vector<ConvLayer> layers = resnet18_convs(image);
    for (const ConvLayer& l : layers) add_layer(l, batch);
    // The generator's shapes are reported beside ResNet-18's, not added to its totals.
    const std::vector<ConvLayer> gen = o.quick ? std::vector<ConvLayer>{} : generator_convs();
    for (const ConvLayer& l : gen) add_layer(l, 16);
    rounds.run(o.repeats, !o.cold);

    const Timing mm_t = rounds.timing(mm_id);
    const double mm_flop = 2.0 * mm * mm * mm;
    // A pass is held against the GEMM of its own round: the ratio is taken round by round, side
    // by side, and its median reported.
    std::vector<double> mm_round_gf;
    for (int r = 0; r < o.repeats; ++r) mm_round_gf.push_back(gflops(mm_flop, rounds.round_ms(mm_id, r)));
    const double mm_gf = median_of(mm_round_gf);
    auto ratio = [&](int id, double flop) {
        std::vector<double> per_round;
        for (int r = 0; r < o.repeats; ++r)
            per_round.push_back(gflops(flop, rounds.round_ms(id, r)) / mm_round_gf[static_cast<std::size_t>(r)]);
        return median_of(per_round);
    };
    std::string out = "{\n";
    out += fmt::format("  \"threads\": {}, \"repeats\": {}, \"cold\": {}, \"batch\": {}, \"image\": {},\n",
                       num_threads(), o.repeats, o.cold, batch, image);
    out += fmt::format(
        "  \"matmul\": {{\"m\": {0}, \"n\": {0}, \"k\": {0}, \"ms\": {1:.3f}, \"gflops\": {2:.1f}, "
        "\"median_ms\": {3:.3f}, \"median_gflops\": {4:.1f}, \"yardstick_gflops\": {5:.1f}}},\n",
        mm, mm_t.best, gflops(mm_flop, mm_t.best), mm_t.median, gflops(mm_flop, mm_t.median), mm_gf);
    // One JSON line per shape: the three passes' ms (median over rounds of each round's best),
    // GFLOP/s and ratio to the GEMM.
    struct Measured {
        std::string json;
        double ms, flop, worst_ratio;  // all three passes, times the layer's count
    };
    auto report_layer = [&](const Bench& bn, bool last) {
        const ConvLayer& l = bn.l;
        double worst_ratio = 1e30;
        const double f_ms = rounds.round_median(bn.forward, o.repeats),
                     d_ms = rounds.round_median(bn.backward_data, o.repeats),
                     w_ms = rounds.round_median(bn.backward_filter, o.repeats);
        auto pass = [&](double ms, int id) {
            const double r = ratio(id, bn.flop);
            worst_ratio = std::min(worst_ratio, r);
            return fmt::format("{{\"ms\": {:.3f}, \"gflops\": {:.1f}, \"ratio\": {:.2f}}}", ms, gflops(bn.flop, ms), r);
        };
        Measured m{"", l.count * (f_ms + d_ms + w_ms), l.count * 3 * bn.flop, 0};
        m.json = fmt::format(
            "    {{\"name\": \"{}\", \"count\": {}, \"x\": [{}, {}, {}, {}], \"w\": [{}, {}, {}, {}], "
            "\"stride\": {}, \"pad\": {}, \"gflop\": {:.3f},\n     \"forward\": {}, \"backward_data\": {}, "
            "\"backward_filter\": {}}}{}\n",
            l.name, l.count, bn.xs[0], bn.xs[1], bn.xs[2], bn.xs[3], bn.ws[0], bn.ws[1], bn.ws[2], bn.ws[3], l.stride,
            l.pad, bn.flop / 1e9, pass(f_ms, bn.forward), pass(d_ms, bn.backward_data), pass(w_ms, bn.backward_filter),
            last ? "" : ",");
        m.worst_ratio = worst_ratio;
        return m;
    };
    double total_ms = 0, total_flop = 0, worst_ratio = 1e30;
    out += "  \"conv\": [\n";
    for (std::size_t li = 0; li < layers.size(); ++li) {
        Measured m = report_layer(benches[li], li + 1 == layers.size());
        out += m.json;
        total_ms += m.ms;
        total_flop += m.flop;
        worst_ratio = std::min(worst_ratio, m.worst_ratio);
    }
    out += "  ],\n";
    if (!gen.empty()) {
        out += "  \"generator_conv\": [\n";
        for (std::size_t li = 0; li < gen.size(); ++li)
            out += report_layer(benches[layers.size() + li], li + 1 == gen.size()).json;
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
