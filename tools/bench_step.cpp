// dcodr bench step: the paper's training step (ResNet encoder, k domains x m images + one
// positive each, domain-wise loss, Adam) timed after warm-up: median ms/step, images/s and peak
// memory; with --profile N, N more steps with every kernel op timed, as a per-op breakdown.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "data/synthetic.h"
#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/profiler.h"
#include "tools/bench.h"
#include "tools/commands.h"
#include "tools/common.h"
#ifdef DCODR_WITH_CUDA
#include "cuda/cuda_api.h"
#endif

namespace dcodr::tools {

namespace {

struct StepTimes {
    std::vector<double> device_ms;  // device timer (CUDA events on a GPU, the host clock on the CPU)
    std::vector<double> wall_ms;    // host clock
};

// Times `steps` training steps, each between the two marks of a device timer (on a GPU: an
// event before the step's upload and one after its optimizer kernels are queued) and by the
// host clock. A step ends with loss.item(), so the host waits for forward and backward; the
// optimizer's kernels overlap the next step's start, as in a real run.
StepTimes time_steps(method::Trainer& trainer, Device device, std::int64_t steps) {
    StepTimes t;
    std::vector<std::unique_ptr<DeviceTimer>> timers;
    for (std::int64_t i = 0; i < steps; ++i) {
        timers.push_back(device_backend(device).new_timer());
        auto t0 = std::chrono::steady_clock::now();
        timers.back()->start();
        trainer.step();
        timers.back()->stop();
        t.wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    for (auto& timer : timers) t.device_ms.push_back(timer->elapsed_ms());  // read at the end: no extra waits
    return t;
}

// --compare-eigen-gemm: `steps` pairs of steps, one with the packed GEMM and one with Eigen's,
// in alternating order (so neither always runs first): on a VM whose speed drifts by tens of
// percent within minutes, only steps interleaved like this compare the two paths fairly.
json::Value compare_gemm_paths(method::Trainer& trainer, Device device, std::int64_t steps) {
    std::vector<double> packed, eigen;
    for (std::int64_t i = 0; i < steps; ++i)
        for (int k = 0; k < 2; ++k) {
            const bool use_packed = (k == 0) == (i % 2 == 0);
            cpu::set_packed_sgemm_enabled(use_packed);
            (use_packed ? packed : eigen).push_back(time_steps(trainer, device, 1).device_ms.front());
        }
    cpu::set_packed_sgemm_enabled(true);
    json::Value v = json::Value::object();
    v["packed_gemm_in_build"] = cpu::has_packed_sgemm();  // false: both medians are Eigen's
    v["packed_gemm_median_ms"] = median_of(packed);
    v["eigen_gemm_median_ms"] = median_of(eigen);
    v["eigen_over_packed"] = median_of(eigen) / median_of(packed);
    v["pairs"] = steps;
    return v;
}

json::Value row_json(const profiler::Row& r, double steps, double total_ms) {
    json::Value v = json::Value::object();
    v["op"] = r.op;
    if (!r.detail.empty()) v["detail"] = r.detail;
    v["calls_per_step"] = static_cast<double>(r.calls) / steps;
    v["ms_per_step"] = r.ms / steps;
    v["percent"] = total_ms > 0 ? 100.0 * r.ms / total_ms : 0.0;
    return v;
}

// Runs `steps` profiled steps and returns the breakdown; also prints it readably to stderr.
json::Value profile_steps(method::Trainer& trainer, Device device, std::int64_t steps, std::size_t top) {
    profiler::reset();
    profiler::enable(device);
    std::vector<double> wall = time_steps(trainer, device, steps).wall_ms;
    backend_for(device).synchronize();
    profiler::disable();
    auto by_op = profiler::rows_by_op();
    auto by_detail = profiler::rows_by_detail();
    double total = 0;
    for (const auto& r : by_op) total += r.ms;
    const double n = static_cast<double>(steps);

    json::Value out = json::Value::object();
    out["steps"] = steps;
    out["profiled_median_ms"] = median_of(wall);
    out["ops_ms_per_step"] = total / n;
    json::Value ops = json::Value::array(), details = json::Value::array();
    for (const auto& r : by_op) ops.push_back(row_json(r, n, total));
    for (std::size_t i = 0; i < std::min(top, by_detail.size()); ++i) details.push_back(row_json(by_detail[i], n, total));
    out["by_op"] = ops;
    out["top"] = details;
    json::Value phases = json::Value::object();
    std::string phase_line;
    for (auto [phase, ms] : profiler::phase_totals()) {
        phases[profiler::phase_name(phase)] = ms / n;
        phase_line += fmt::format("{}{} {:.2f} ms ({:.1f}%)", phase_line.empty() ? "" : ", ",
                                  profiler::phase_name(phase), ms / n, total > 0 ? 100.0 * ms / total : 0.0);
    }
    out["ms_per_step_by_phase"] = phases;

    std::cerr << fmt::format("per-op time on {} over {} profiled steps (profiled step median {:.2f} ms; "
                             "kernel ops sum to {:.2f} ms/step)\n",
                             device.str(), steps, median_of(wall), total / n);
    std::cerr << "by phase: " << phase_line << "\n";
    std::cerr << fmt::format("{:>10} {:>7} {:>10}  {}\n", "ms/step", "share", "calls/step", "op");
    for (const auto& r : by_op)
        std::cerr << fmt::format("{:10.3f} {:6.1f}% {:10.1f}  {}\n", r.ms / n, 100.0 * r.ms / total,
                                 static_cast<double>(r.calls) / n, r.op);
    std::cerr << fmt::format("slowest {} (op, shapes):\n", std::min(top, by_detail.size()));
    for (std::size_t i = 0; i < std::min(top, by_detail.size()); ++i) {
        const auto& r = by_detail[i];
        std::cerr << fmt::format("{:10.3f} {:6.1f}% {:10.1f}  {} {}\n", r.ms / n, 100.0 * r.ms / total,
                                 static_cast<double>(r.calls) / n, r.op, r.detail);
    }
    return out;
}

}  // namespace

int bench_step_main(int argc, char** argv) {
    Args a("bench step",
           "Time a training step: DCoDR-norec, or DCoDR with --reconstruction (defaults: the paper's ResNet-50,\n"
           "4 x 32, 64x64).",
           argc, argv);
    add_train_options(a);
    add_runtime_options(a);
    a.option("warmup", "3", "untimed steps first");
    a.option("repeats", "10", "timed steps");
    a.option("images", "2048", "synthetic images to draw batches from");
    a.option("profile", "0", "then N more steps with every kernel op timed: a per-op breakdown (stderr and JSON)");
    a.option("profile-top", "25", "rows of the per-shape breakdown");
    a.flag("tf32", "allow TF32 tensor cores on the GPU (PyTorch's default for cuDNN)");
    a.flag("cudnn-benchmark", "GPU: time cuDNN's candidate algorithms once per shape instead of its heuristics");
    a.flag("nondeterministic", "GPU: allow cuDNN algorithms whose results vary run to run (PyTorch's default)");
    a.flag("compare-eigen-gemm",
           "CPU: then --repeats pairs of steps alternating the packed GEMM (1x1 and Winograd convolutions) with "
           "Eigen's, and both medians");
    if (a.parse()) return 0;
    method::TrainConfig c = train_config_from(a);
    c.device = device_from(a);
    c.quiet = true;
    c.max_steps = 1 << 30;
    if (a.integer("repeats") < 1) usage_error("--repeats: expected at least 1, got {}", a.integer("repeats"));
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) {
        cuda::set_allow_tf32(a.enabled("tf32"));
        cuda::set_cudnn_benchmark(a.enabled("cudnn-benchmark"));
        cuda::set_deterministic(!a.enabled("nondeterministic"));
    }
#endif
    data::Dataset ds = data::shapes::generate(a.integer("images"), 1);
    method::Trainer trainer(c, ds);
    for (std::int64_t i = 0; i < a.integer("warmup"); ++i) trainer.step();
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) cuda::reset_peak_memory_stats(c.device.index);
#endif
    if (c.device.is_cpu()) CpuBackend::cache().reset_peak();
    StepTimes times = time_steps(trainer, c.device, a.integer("repeats"));
    const std::vector<double>& ms = times.device_ms;
    double median = median_of(ms);
    std::int64_t k = c.domains_per_batch > 0 ? c.domains_per_batch : 4;
    json::Value r = json::Value::object();
    r["benchmark"] = "train_step";
    r["device"] = c.device.str();
    r["threads"] = num_threads();
    r["config"] = c.to_json();
    r["batch_anchors"] = k * c.images_per_domain;
    r["median_ms"] = median;
    r["min_ms"] = *std::min_element(ms.begin(), ms.end());
    r["max_ms"] = *std::max_element(ms.begin(), ms.end());
    r["wall_median_ms"] = median_of(times.wall_ms);
    r["timing"] = c.device.is_cuda() ? "CUDA events around each whole step (upload to optimizer)" : "host clock";
    r["images_per_second"] = 2.0 * static_cast<double>(k * c.images_per_domain) / (median / 1000.0);
    if (c.device.is_cpu()) {
        // Host memory held by tensors (the CPU's caching allocator), the CPU's "peak allocated".
        r["peak_allocated_bytes"] = static_cast<std::int64_t>(CpuBackend::cache().peak_live_bytes());
    }
#ifdef DCODR_WITH_CUDA
    if (c.device.is_cuda()) {
        auto m = cuda::memory_stats(c.device.index);
        r["peak_allocated_bytes"] = static_cast<std::int64_t>(m.peak_allocated);
        r["peak_reserved_bytes"] = static_cast<std::int64_t>(m.peak_reserved);
        r["gpu"] = cuda::device_description(c.device.index);
        r["tf32"] = cuda::allow_tf32();
        r["cudnn_benchmark"] = a.enabled("cudnn-benchmark");
        r["deterministic"] = !a.enabled("nondeterministic");
    }
#endif
    if (a.enabled("compare-eigen-gemm")) {
        if (!c.device.is_cpu()) usage_error("--compare-eigen-gemm: the packed GEMM is the CPU's; drop --device");
        r["compare_eigen_gemm"] = compare_gemm_paths(trainer, c.device, a.integer("repeats"));
    }
    if (a.integer("profile") > 0)
        r["profile"] = profile_steps(trainer, c.device, a.integer("profile"),
                                     static_cast<std::size_t>(a.integer("profile-top")));
    std::cout << r.dump(2) << "\n";
    return 0;
}

}  // namespace dcodr::tools
