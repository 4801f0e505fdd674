// The per-op profiler (tensor/profiler.h): it wraps only the profiled device, forwards every
// op unchanged, and counts each kernel call under its op name and shapes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "autograd/functional.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/profiler.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::random_tensor;

namespace {

// Turns profiling off however the test ends, so other test cases see the plain backend.
struct ProfilingOn {
    explicit ProfilingOn(Device d) {
        profiler::reset();
        profiler::enable(d);
    }
    ~ProfilingOn() { profiler::disable(); }
};

const profiler::Row* find_row(const std::vector<profiler::Row>& rows, const std::string& op,
                              const std::string& detail = "") {
    for (const auto& r : rows)
        if (r.op == op && (detail.empty() || r.detail == detail)) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("profiling wraps only the profiled device and stops on disable") {
    REQUIRE(&backend_for(Device::cpu()) == &device_backend(Device::cpu()));
    {
        ProfilingOn on(Device::cpu());
        REQUIRE(profiler::enabled_for(Device::cpu()));
        REQUIRE(&backend_for(Device::cpu()) != &device_backend(Device::cpu()));
        REQUIRE(backend_for(Device::cpu()).device() == Device::cpu());
    }
    REQUIRE_FALSE(profiler::enabled_for(Device::cpu()));
    REQUIRE(&backend_for(Device::cpu()) == &device_backend(Device::cpu()));
    {
        ProfilingOn on(Device::cuda(0));  // another device: the CPU stays unwrapped
        REQUIRE(&backend_for(Device::cpu()) == &device_backend(Device::cpu()));
    }
}

TEST_CASE("profiled ops give the same results and are counted per op and shape") {
    Tensor x = random_tensor({2, 3, 8, 8}, 1, -1, 1, DType::f32);
    Tensor w = random_tensor({4, 3, 3, 3}, 2, -1, 1, DType::f32);
    Conv2dParams p;
    p.pad_h = p.pad_w = 1;
    Tensor a = random_tensor({5, 7}, 3, -1, 1, DType::f32), b = random_tensor({7, 6}, 4, -1, 1, DType::f32);
    Tensor y_plain = kernels::conv2d_forward(x, w, p);
    Tensor m_plain = kernels::matmul(a, b);

    Tensor y, m;
    {
        ProfilingOn on(Device::cpu());
        y = kernels::conv2d_forward(x, w, p);
        y = kernels::conv2d_forward(x, w, p);
        m = kernels::matmul(a, b);
        profiler::flush();
    }
    REQUIRE(y.to_vector() == y_plain.to_vector());
    REQUIRE(m.to_vector() == m_plain.to_vector());

    auto rows = profiler::rows_by_detail();
    const auto* conv = find_row(rows, "conv2d_forward", "3x3/1 3->4 8x8 n2");
    REQUIRE(conv != nullptr);
    REQUIRE(conv->calls == 2);
    REQUIRE(conv->ms >= 0.0);
    const auto* mm = find_row(rows, "matmul");
    REQUIRE(mm != nullptr);
    REQUIRE(mm->calls == 1);
    // Nothing recorded after disable().
    kernels::matmul(a, b);
    REQUIRE(find_row(profiler::rows_by_detail(), "matmul")->calls == 1);
    profiler::reset();
    REQUIRE(profiler::rows_by_detail().empty());
}

TEST_CASE("a profiled backward pass counts the kernels of forward and backward") {
    // y = sum(relu(a @ w)): one matmul forward and one backward (dW; a is a constant, so its
    // gradient is not computed), plus the relu gradient.
    Tensor a = random_tensor({4, 5}, 5);
    Tensor w = random_tensor({5, 3}, 6);
    w.set_requires_grad(true);
    ProfilingOn on(Device::cpu());
    Tensor loss = sum(relu(matmul(a, w)));
    backward(loss);
    auto by_op = profiler::rows_by_op();
    const auto* mm = find_row(by_op, "matmul");
    REQUIRE(mm != nullptr);
    REQUIRE(mm->calls == 2);  // forward, and dW = a^T @ dY
    REQUIRE(find_row(by_op, "binary") != nullptr);  // relu_grad
    // by_op is by_detail summed per op, slowest first.
    double total_op = 0, total_detail = 0;
    for (const auto& r : by_op) total_op += r.ms;
    for (const auto& r : profiler::rows_by_detail()) total_detail += r.ms;
    REQUIRE(total_op == Approx(total_detail));
    REQUIRE(std::is_sorted(by_op.begin(), by_op.end(), [](const auto& l, const auto& r) { return l.ms > r.ms; }));
    REQUIRE(w.grad().defined());
}

TEST_CASE("a leaf adopts a fresh gradient without copying it, and copies a shared one") {
    Tensor a = random_tensor({4, 5}, 7);
    Tensor w = random_tensor({5, 3}, 8);
    w.set_requires_grad(true);
    {
        ProfilingOn on(Device::cpu());
        backward(sum(matmul(a, w)));  // dW = a^T @ ones: a fresh tensor nobody else holds
        // (sum's backward makes its broadcast gradient contiguous: a 4x3 copy, not dW's 5x3.)
        auto rows = profiler::rows_by_detail();
        REQUIRE(find_row(rows, "matmul", "1x4x5^T @ 1x4x3 -> 1x5x3") != nullptr);
        REQUIRE(find_row(rows, "strided_copy", "5x3 float64->float64") == nullptr);
    }
    // Same values as the definition: dW[k, j] = sum_i a[i, k].
    auto av = a.to_vector(), gv = w.grad().to_vector();
    for (std::int64_t k = 0; k < 5; ++k) {
        double col = 0;
        for (std::int64_t i = 0; i < 4; ++i) col += av[static_cast<std::size_t>(i * 5 + k)];
        for (std::int64_t j = 0; j < 3; ++j) REQUIRE(gv[static_cast<std::size_t>(k * 3 + j)] == Approx(col));
    }
    // y = w + w: add's backward hands the same gradient tensor to both sides, so the leaf
    // must not adopt it (the second accumulation would then add into itself).
    Tensor v = random_tensor({3}, 9);
    v.set_requires_grad(true);
    backward(sum(add(v, v)));
    for (double x : v.grad().to_vector()) REQUIRE(x == 2.0);
}

TEST_CASE("an op that runs other ops inside its kernel is counted once, as itself") {
    // The CPU's where() makes broadcast operands contiguous inside the kernel (strided_copy).
    Tensor cond = Tensor::from_vector(std::vector<double>{1, 0, 1}, {3}, DType::f32);
    Tensor a = random_tensor({4, 3}, 11, -1, 1, DType::f32), b = random_tensor({4, 3}, 12, -1, 1, DType::f32);
    ProfilingOn on(Device::cpu());
    Tensor y = kernels::where(cond, a, b);
    auto rows = profiler::rows_by_op();
    const auto* w = find_row(rows, "where");
    REQUIRE(w != nullptr);
    REQUIRE(w->calls == 1);
    REQUIRE(find_row(rows, "strided_copy") == nullptr);
}

TEST_CASE("profiled time is split into forward, backward and optimizer") {
    Tensor a = random_tensor({8, 6}, 13);
    Tensor w = random_tensor({6, 4}, 14);
    w.set_requires_grad(true);
    nn::Adam adam({{{{"w", w}}, 0.1}}, 0.9, 0.999, 1e-8);
    ProfilingOn on(Device::cpu());
    Tensor loss = sum(relu(matmul(a, w)));  // forward: matmul, relu, sum
    {
        auto phases = profiler::phase_totals();
        REQUIRE(phases[0].first == profiler::Phase::forward);
        REQUIRE(phases[0].second > 0);
        REQUIRE(phases[1].second == 0);
        REQUIRE(phases[2].second == 0);
    }
    backward(loss);
    adam.step();
    auto phases = profiler::phase_totals();
    REQUIRE(phases[1].first == profiler::Phase::backward);
    REQUIRE(phases[1].second > 0);
    REQUIRE(phases[2].first == profiler::Phase::optimizer);
    REQUIRE(phases[2].second > 0);
    double total = 0;
    for (const auto& r : profiler::rows_by_op()) total += r.ms;
    REQUIRE(phases[0].second + phases[1].second + phases[2].second == Approx(total));
}
