// What the CUDA backend asks of the device during training, counted by the CUDA simulator
// (dcodr_sim/counters.h): the issue asks for asynchronous execution where "the host waits
// only when it needs a value", and for a caching allocator. On a GPU those show up only as
// speed; here they are counted exactly, so a stray item(), a copy to the host or a cudaMalloc
// in the steady-state step fails a test instead of silently costing milliseconds.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "dcodr_sim/counters.h"
#include "method/trainer.h"
#include "tensor/ops.h"
#include "tests/test_util.h"
#include "tests/train_fixtures.h"

using namespace dcodr;
namespace sim = dcodr::cuda::sim;

TEST_CASE("a steady-state training step on cuda reads one value, uploads only its inputs, allocates nothing",
          "[cuda_sim]") {
    auto ds = testing::tiny_shapes(200, 3);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 16);  // more than the steps run here
    cfg.device = Device::cuda(0);
    std::filesystem::path dir = testing::temp_dir("sim-async");
    cfg.out_dir = dir.string();
    method::Trainer trainer(cfg, ds);
    for (int i = 0; i < 3; ++i) trainer.step();  // warm: allocator cache, cuDNN algorithm choice, staging buffers
    sim::reset_counters();
    const int steps = 4;
    for (int i = 0; i < steps; ++i) trainer.step();
    sim::Counters c = sim::counters();
    std::printf("per step: %.1f host waits, %.1f copies to host, %.1f uploads, %.1f kernel launches, "
                "%.1f cuBLAS/cuDNN calls, %.1f cudaMalloc\n",
                double(c.host_waits) / steps, double(c.copies_to_host) / steps, double(c.copies_from_host) / steps,
                double(c.kernel_launches) / steps, double(c.library_calls) / steps, double(c.device_mallocs) / steps);
    // The loss value is the one thing the host reads each step (loss.item(): one copy, one wait).
    CHECK(c.copies_to_host == steps);
    // Uploads: the next batch (images and positives, one buffer), the contrastive loss's negative
    // mask, and multi-tensor Adam's chunk table; nothing else crosses per step.
    CHECK(c.copies_from_host == 3 * steps);
    // Every other wait is an upload's check that its pinned staging buffer is free again (the
    // upload queued two uploads earlier has run), never a wait for a result.
    CHECK(c.host_waits <= c.copies_to_host + c.copies_from_host);
    // Once warm, every allocation is served by the caching allocator.
    CHECK(c.device_mallocs == 0);
    CHECK(c.kernel_launches > 0);

    // Host-only mode (`DCODR_CUDA_SIM_HOST_ONLY=1 dcodr_sim bench step` measures the host's share
    // of a GPU step with it) must issue exactly the work of a real step, or it would time
    // something else. Skipped kernels leave garbage weights, so this runs last.
    sim::set_host_only(true);
    sim::reset_counters();
    for (int i = 0; i < steps; ++i) trainer.step();
    sim::Counters h = sim::counters();
    sim::set_host_only(false);
    CHECK(h.kernel_launches == c.kernel_launches);
    CHECK(h.library_calls == c.library_calls);
    CHECK(h.copies_to_host == c.copies_to_host);
    CHECK(h.copies_from_host == c.copies_from_host);
    CHECK(h.device_mallocs == 0);
    std::filesystem::remove_all(dir);
}

// cuDNN's 4-d descriptors hold element counts in int: a convolution over more than 2^31 - 1
// elements must fail with a clear error, not inside cuDNN. Host-only mode, so the 8.6 GB input
// is mapped but never touched.
TEST_CASE("a convolution beyond cuDNN's 32-bit element counts fails with a clear error", "[cuda_sim]") {
    sim::set_host_only(true);
    Tensor x = Tensor::empty({1, 1, 46341, 46341}, DType::f32, Device::cuda(0));  // 2^31 + 4,633 elements
    Tensor w = Tensor::empty({1, 1, 2, 2}, DType::f32, Device::cuda(0));
    Conv2dParams stride2{2, 2, 0, 0, 1, 1, 1};
    CHECK_THROWS_WITH(kernels::conv2d_forward(x, w, stride2),
                      Catch::Contains("the convolution input's N*C*H*W = 2147488281 exceeds the 32-bit range"));
    sim::set_host_only(false);
}
