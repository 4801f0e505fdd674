// dcodr bench ops | step
//   ops:  CPU kernel throughput (tools/bench_ops.cpp).
//   step: the paper's training step (ResNet encoder, k domains x m images + one positive each,
//         contrastive loss, Adam) timed after warm-up; median ms/step, images/s, peak memory.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "data/synthetic.h"
#include "tensor/backend.h"
#include "tools/bench_ops.h"
#include "tools/commands.h"
#include "tools/common.h"
#ifdef DCODR_WITH_CUDA
#include "cuda/cuda_api.h"
#endif

namespace dcodr::tools {

static int bench_step(int argc, char** argv) {
    Args a("bench step", "Time the DCoDR-norec training step (defaults: the paper's ResNet-50, 4 x 32, 64x64).",
           argc, argv);
    add_train_options(a);
    add_runtime_options(a);
    a.option("warmup", "3", "untimed steps first");
    a.option("repeats", "10", "timed steps");
    a.option("images", "2048", "synthetic images to draw batches from");
    a.flag("tf32", "allow TF32 tensor cores on the GPU (PyTorch's default for cuDNN)");
    if (a.parse()) return 0;
    method::TrainConfig c = train_config_from(a);
    c.device = device_from(a);
    c.quiet = true;
    c.max_steps = 1 << 30;
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) cuda::set_allow_tf32(a.enabled("tf32"));
#endif
    data::Dataset ds = data::shapes::generate(a.integer("images"), 1);
    method::Trainer trainer(c, ds);
    for (std::int64_t i = 0; i < a.integer("warmup"); ++i) trainer.step();
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) cuda::reset_peak_memory_stats(c.device.index);
#endif
    std::vector<double> ms;
    for (std::int64_t i = 0; i < a.integer("repeats"); ++i) {
        auto t0 = std::chrono::steady_clock::now();
        trainer.step();  // ends with loss.item(): the device has finished the step
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    std::int64_t k = c.domains_per_batch > 0 ? c.domains_per_batch : 4;
    json::Value r = json::Value::object();
    r["benchmark"] = "train_step";
    r["device"] = c.device.str();
    r["threads"] = num_threads();
    r["config"] = c.to_json();
    r["batch_anchors"] = k * c.images_per_domain;
    r["median_ms"] = median;
    r["min_ms"] = ms.front();
    r["max_ms"] = ms.back();
    r["images_per_second"] = 2.0 * static_cast<double>(k * c.images_per_domain) / (median / 1000.0);
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) {
        auto m = cuda::memory_stats(c.device.index);
        r["peak_allocated_bytes"] = static_cast<std::int64_t>(m.peak_allocated);
        r["peak_reserved_bytes"] = static_cast<std::int64_t>(m.peak_reserved);
        r["gpu"] = cuda::device_description(c.device.index);
    }
#endif
    std::cout << r.dump(2) << "\n";
    return 0;
}

int cmd_bench(int argc, char** argv) {
    std::string what = argc > 0 ? argv[0] : "";
    if (what == "ops") return bench_ops_main(argc, argv);
    if (what == "step") return bench_step(argc - 1, argv + 1);
    std::cerr << "usage: dcodr bench ops [--repeats N] [--threads N] [--quick]\n"
                 "       dcodr bench step [train options] [--device cuda] [--repeats N]\n";
    return what.empty() || what == "--help" ? 0 : 2;
}

}  // namespace dcodr::tools
