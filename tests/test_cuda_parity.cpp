// CUDA backend parity: every kernel op runs on random float32 inputs on the CPU (the oracle)
// and on the GPU, compared with |gpu - cpu| <= atol + rtol * |cpu|; odd shapes, broadcasting
// and non-contiguous inputs included. Plus Philox stream identity, determinism, allocator
// behaviour, and (runs everywhere) the error for a CUDA request that cannot be served.
//
// Without a usable GPU every GPU test prints "SKIPPED: no CUDA device (...)" and returns, and
// the process exits 77 (meson: SKIP); run with "[nogpu]" for the checks that need no GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>

#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/philox.h"
#include "autograd/functional.h"
#include "method/contrastive_loss.h"
#include "method/evaluation.h"
#include "method/trainer.h"
#include "nn/dcodr_encoder.h"
#include "nn/init.h"
#include "tensor/profiler.h"
#include "tensor/reference/reference.h"
#include "tests/test_util.h"
#include "tests/train_fixtures.h"
#ifdef DCODR_WITH_CUDA
#include "cuda/cuda_api.h"
#include "cuda/cuda_backend.h"
#endif

using namespace dcodr;
using Catch::Matchers::Contains;
namespace K = dcodr::kernels;

namespace {

std::string g_no_gpu_reason;

// A CUDA device this process can use (g_no_gpu_reason says why not).
bool real_gpu() {
    static int state = -1;
    if (state < 0) {
        try {
            backend_for(Device::cuda(0));
            state = 1;
        } catch (const Error& e) {
            g_no_gpu_reason = e.what();
            state = 0;
        }
    }
    return state == 1;
}

// A GPU, or the CUDA simulator (test_cuda_parity_sim), to run the parity cases on.
bool have_gpu() { return real_gpu(); }

#define REQUIRE_GPU_OR_SKIP()                                                                  \
    do {                                                                                       \
        if (!have_gpu()) {                                                                     \
            std::printf("SKIPPED: no CUDA device (%s)\n", g_no_gpu_reason.c_str());            \
            WARN("SKIPPED: no CUDA device (" << g_no_gpu_reason << ")");                       \
            return;                                                                            \
        }                                                                                      \
    } while (0)

const Device kCpu = Device::cpu();
const Device kGpu = Device::cuda(0);

// Random float32 input made on the CPU, then moved (so inputs are identical by construction).
Tensor rnd(const Shape& s, std::uint64_t seed, Device d, double lo = -1.0, double hi = 1.0,
           DType t = DType::f32) {
    return Tensor::uniform(s, lo, hi, seed, 0, t, kCpu).to(d);
}
Tensor idx_tensor(const std::vector<std::int64_t>& v, const Shape& s, Device d) {
    return Tensor::from_vector(v, s, kCpu).to(d);
}

using Outputs = std::vector<Tensor>;

// Runs f on both devices and compares every output.
void parity(const std::string& name, const std::function<Outputs(Device)>& f, double atol = 1e-5,
            double rtol = 1e-5) {
    Outputs ref = f(kCpu);
    Outputs got = f(kGpu);
    REQUIRE(got.size() == ref.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO(name << ": output " << i << " shape " << shape_str(ref[i].shape()));
        REQUIRE(got[i].device() == kGpu);
        REQUIRE(got[i].dtype() == ref[i].dtype());
        REQUIRE_CLOSE(got[i].to(kCpu), ref[i], atol, rtol);
    }
}

bool bit_equal(const Tensor& a, const Tensor& b) {
    auto va = a.to(kCpu).contiguous().to_vector(), vb = b.to(kCpu).contiguous().to_vector();
    return va == vb;
}

}  // namespace

// ------------------------------------------------------------------ runs without a GPU

TEST_CASE("requesting a CUDA device that cannot be served gives a clear error", "[cuda][nogpu]") {
    if (!cuda_compiled()) {
        REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda()), Contains("built without CUDA"));
        return;
    }
    if (!real_gpu()) {
        std::printf("no GPU here; checking the error message: %s\n", g_no_gpu_reason.c_str());
        REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda()),
                            Contains("no usable CUDA device") && Contains("--device cpu"));
        // Asking again gives the same clear error (nothing cached in a broken state).
        REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda(1)), Contains("no usable CUDA device"));
#ifdef DCODR_WITH_CUDA
        REQUIRE(dcodr::cuda::device_count() == 0);
#endif
        return;
    }
    // With a GPU: an index past the last device is the error case.
    REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda(99)), Contains("no usable CUDA device"));
}

#ifdef DCODR_WITH_CUDA
TEST_CASE("cuda allocator size classes (no GPU needed)", "[cuda][nogpu]") {
    using A = dcodr::cuda::CachingAllocator;
    REQUIRE(A::round_size(1) == 512);
    REQUIRE(A::round_size(512) == 512);
    REQUIRE(A::round_size(513) == 1024);
    REQUIRE(A::round_size(3000) == 4096);
    REQUIRE(A::round_size(1 << 20) == (1u << 20));
    REQUIRE(A::round_size((1 << 20) + 1) == (2u << 20));
    REQUIRE(A::round_size(5u << 20) == (6u << 20));
    // Controls are plain switches, usable before any device is opened.
    REQUIRE_FALSE(dcodr::cuda::allow_tf32());
    REQUIRE(dcodr::cuda::deterministic());
    REQUIRE_FALSE(dcodr::cuda::cudnn_benchmark());
}
#endif

// ------------------------------------------------------------------ GPU parity

TEST_CASE("cuda: Philox streams are identical to the CPU's", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    for (std::uint64_t offset : {0ull, 3ull, 1000003ull}) {
        for (DType t : {DType::f32, DType::f64}) {
            Tensor uc = Tensor::uniform({1001}, -2.0, 3.0, 42, offset, t, kCpu);
            Tensor ug = Tensor::uniform({1001}, -2.0, 3.0, 42, offset, t, kGpu);
            // No transcendental functions: exact (float64 needs the CPU build's FMA, the default).
            if (t == DType::f32) REQUIRE(bit_equal(uc, ug));
            else REQUIRE_CLOSE(ug.to(kCpu), uc, 1e-15, 1e-15);
            Tensor nc = Tensor::normal({1001}, 0.5, 2.0, 7, offset, t, kCpu);
            Tensor ng = Tensor::normal({1001}, 0.5, 2.0, 7, offset, t, kGpu);
            // log/cos/sin of libm vs CUDA may differ in the last ulp of the double.
            REQUIRE_CLOSE(ng.to(kCpu), nc, 1e-12, 1e-6);
            auto a = nc.to_vector(), b = ng.to(kCpu).to_vector();
            std::size_t same = 0;
            for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
            std::printf("Philox normal %s offset %llu: %zu of %zu bit-identical to the CPU\n", dtype_name(t),
                        static_cast<unsigned long long>(offset), same, a.size());
            // float32: a last-ulp double difference almost never survives rounding to float.
            if (t == DType::f32) REQUIRE(same * 100 >= a.size() * 99);
        }
    }
    // Odd lengths and offsets: element i depends only on (seed, offset, i).
    Tensor whole = Tensor::uniform({17}, 0, 1, 9, 5, DType::f32, kGpu);
    Tensor head = Tensor::uniform({3}, 0, 1, 9, 5, DType::f32, kGpu);
    REQUIRE(bit_equal(whole.slice(0, 0, 3), head));
}

TEST_CASE("cuda: fill, arange, copies and dtype conversion", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    for (DType t : {DType::f32, DType::f64, DType::i64}) {
        parity("full", [&](Device d) { return Outputs{Tensor::full({3, 5, 7}, 2.5, t, d), Tensor::zeros({9}, t, d)}; });
        parity("arange", [&](Device d) { return Outputs{Tensor::arange(1237, t, d)}; });
    }
    parity("permute+contiguous", [](Device d) {
        Tensor x = rnd({3, 4, 5, 6}, 1, d);
        return Outputs{x.permute({3, 1, 0, 2}).contiguous(), x.transpose(0, 3).contiguous()};
    });
    parity("slice step / select / expand", [](Device d) {
        Tensor x = rnd({7, 9, 11}, 2, d);
        Tensor e = rnd({1, 5}, 3, d).expand({4, 5});
        return Outputs{x.slice(2, 1, 10, 3).contiguous(), x.select(1, 4).contiguous(), e.contiguous()};
    });
    parity("dtype conversion", [](Device d) {
        Tensor x = rnd({5, 7}, 4, d, -10, 10);
        Tensor xt = x.transpose(0, 1);
        return Outputs{x.to(DType::f64), x.to(DType::i64), xt.to(DType::i64).to(DType::f32), xt.to(DType::f64)};
    });
    parity("copy_ into a strided view with broadcast source", [](Device d) {
        Tensor x = Tensor::zeros({6, 8}, DType::f32, d);
        Tensor v = x.slice(1, 0, 8, 2);
        v.copy_(rnd({1, 4}, 5, d));
        Tensor y = Tensor::zeros({6, 8}, DType::f64, d);
        Tensor w = y.transpose(0, 1);
        w.copy_(rnd({8, 6}, 6, d));  // converts f32 -> f64 through a transposed destination
        return Outputs{x, y};
    });
    parity("fill_ of a non-contiguous view", [](Device d) {
        Tensor x = rnd({4, 6}, 7, d);
        Tensor v = x.slice(0, 1, 4, 2);
        v.fill_(-3.0);
        return Outputs{x};
    });
    parity("concat", [](Device d) {
        return Outputs{K::concat({rnd({2, 3, 4}, 8, d), rnd({2, 5, 4}, 9, d).slice(1, 0, 5, 2)}, 1)};
    });
    SECTION("uploads are asynchronous but their host sources may be freed at once") {
        std::vector<Tensor> on_gpu;
        std::vector<std::vector<float>> expect;
        for (int i = 0; i < 7; ++i) {
            std::vector<float> v(static_cast<std::size_t>(1000 + 4097 * i));
            for (std::size_t j = 0; j < v.size(); ++j) v[j] = static_cast<float>(i * 100000 + j);
            on_gpu.push_back(Tensor::from_vector(v, {static_cast<std::int64_t>(v.size())}, kGpu));
            expect.push_back(std::move(v));  // the host tensor made by from_vector is gone already
        }
        for (std::size_t i = 0; i < on_gpu.size(); ++i) REQUIRE(on_gpu[i].to_float_vector() == expect[i]);
    }
    SECTION("host round trip of an empty and a large tensor") {
        REQUIRE(Tensor::empty({0, 3}, DType::f32, kGpu).to(kCpu).numel() == 0);
        Tensor big = rnd({1 << 20}, 10, kCpu);
        REQUIRE(bit_equal(big.to(kGpu), big));
    }
}

TEST_CASE("cuda: unary ops", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    struct U {
        UnaryOp op;
        double lo, hi, alpha;
    };
    std::vector<U> ops = {{UnaryOp::neg, -3, 3, 0},         {UnaryOp::exp, -5, 5, 0},
                          {UnaryOp::log, 0.01, 10, 0},      {UnaryOp::sqrt, 0, 10, 0},
                          {UnaryOp::rsqrt, 0.01, 10, 0},    {UnaryOp::abs, -3, 3, 0},
                          {UnaryOp::tanh, -4, 4, 0},        {UnaryOp::sigmoid, -8, 8, 0},
                          {UnaryOp::relu, -1, 1, 0},        {UnaryOp::leaky_relu, -1, 1, 0.2},
                          {UnaryOp::pow_scalar, 0.1, 3, 1.7}, {UnaryOp::add_scalar, -1, 1, 0.3},
                          {UnaryOp::mul_scalar, -1, 1, -2.5}, {UnaryOp::sign, -1, 1, 0},
                          {UnaryOp::square, -3, 3, 0},      {UnaryOp::reciprocal, 0.1, 4, 0}};
    for (const U& u : ops) {
        for (DType t : {DType::f32, DType::f64}) {
            parity(std::string("unary ") + unary_name(u.op) + " " + dtype_name(t), [&](Device d) {
                Tensor x = rnd({3, 17, 5}, 11 + static_cast<int>(u.op), d, u.lo, u.hi, t);
                // a non-contiguous input too (the front-end makes it contiguous)
                return Outputs{K::unary(u.op, x, u.alpha), K::unary(u.op, x.transpose(0, 2), u.alpha)};
            }, t == DType::f32 ? 1e-6 : 1e-12, t == DType::f32 ? 2e-6 : 1e-12);
        }
    }
    parity("unary on int64", [](Device d) {
        Tensor x = rnd({33}, 12, d, -50, 50).to(DType::i64);
        return Outputs{K::unary(UnaryOp::neg, x), K::unary(UnaryOp::abs, x), K::unary(UnaryOp::relu, x),
                       K::unary(UnaryOp::square, x), K::unary(UnaryOp::sign, x), K::unary(UnaryOp::add_scalar, x, 3)};
    });
}

TEST_CASE("cuda: binary ops with broadcasting and non-contiguous operands, where, add_", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    for (int op = 0; op <= static_cast<int>(BinaryOp::leaky_relu_grad); ++op) {
        BinaryOp b = static_cast<BinaryOp>(op);
        parity(std::string("binary ") + binary_name(b), [&](Device d) {
            Tensor x = rnd({3, 1, 5}, 20 + op, d);
            Tensor y = rnd({4, 5}, 40 + op, d, 0.5, 1.5);  // away from 0 for div
            Tensor z = rnd({5, 4}, 60 + op, d).transpose(0, 1);  // non-contiguous [4, 5]
            Tensor q = rnd({2, 3, 4, 5}, 80 + op, d);
            // equal values so eq/le/ge see ties
            Tensor x2 = x.expand({3, 4, 5}).contiguous();
            return Outputs{K::binary(b, x, y, 0.1), K::binary(b, y, z, 0.1), K::binary(b, q, z, 0.1),
                           K::binary(b, x2, x, 0.1), K::binary(b, Tensor::scalar(0.25, DType::f32, d), q, 0.1)};
        }, 1e-6, 1e-6);
    }
    parity("binary int64", [](Device d) {
        Tensor x = rnd({7, 3}, 90, d, -9, 9).to(DType::i64), y = rnd({3}, 91, d, 1, 9).to(DType::i64);
        return Outputs{K::binary(BinaryOp::add, x, y), K::binary(BinaryOp::mul, x, y), K::binary(BinaryOp::lt, x, y)};
    });
    parity("where", [](Device d) {
        Tensor c = K::binary(BinaryOp::gt, rnd({4, 1, 6}, 92, d), Tensor::scalar(0.0, DType::f32, d));
        Tensor a = rnd({3, 6}, 93, d), b = rnd({4, 3, 1}, 94, d);
        Tensor bi = rnd({4, 3, 1}, 95, d).to(DType::i64);
        return Outputs{K::where(c, a, b), K::where(c.to(DType::i64), a.to(DType::i64), bi)};
    });
    parity("add_ accumulate with broadcast", [](Device d) {
        Tensor acc = rnd({6, 7}, 96, d);
        K::add_(acc, rnd({7}, 97, d));
        K::add_(acc, rnd({7, 6}, 98, d).transpose(0, 1));
        return Outputs{acc};
    });
}

TEST_CASE("cuda: reductions", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    parity("sum/mean", [](Device d) {
        Tensor x = rnd({5, 6, 7}, 100, d);
        Tensor big = rnd({3, 5000}, 101, d);     // block-per-row path
        Tensor tall = rnd({2000, 7}, 102, d);    // warp-per-row path
        Tensor huge = rnd({1 << 18}, 103, d);     // two-pass split path (few long rows)
        Tensor odd = rnd({3, 100003}, 107, d);    // split path, ragged last chunk
        return Outputs{K::sum(x), K::sum(x, {1}), K::sum(x, {0, 2}, true), K::mean(x, {-1}),
                       K::sum(x.transpose(0, 2), {0}), K::sum(big, {1}), K::sum(tall, {1}), K::sum(tall, {0}),
                       K::sum(huge), K::mean(huge), K::sum(odd, {1}), K::sum(odd.to(DType::f64), {1})};
    }, 1e-5, 1e-5);
    parity("sum int64 / f64", [](Device d) {
        Tensor x = rnd({9, 1500}, 104, d, -100, 100);
        return Outputs{K::sum(x.to(DType::i64), {1}), K::sum(x.to(DType::f64), {0})};
    }, 1e-9, 1e-12);
    parity("max with argmax", [](Device d) {
        Tensor x = rnd({5, 6, 7}, 105, d);
        Tensor wide = rnd({4, 3000}, 106, d);
        Tensor ties = Tensor::full({3, 200}, 1.0, DType::f32, d);  // first index on ties
        auto [m0, a0] = K::max(x, 1);
        auto [m1, a1] = K::max(x, -1, true);
        auto [m2, a2] = K::max(wide, 1);
        auto [m3, a3] = K::max(ties, 1);
        auto [m4, a4] = K::max(x.permute({2, 0, 1}), 0);
        return Outputs{m0, a0, m1, a1, m2, a2, m3, a3, m4, a4, K::max_all(wide)};
    }, 0, 0);
}

TEST_CASE("cuda: matmul", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    parity("matmul f32", [](Device d) {
        Tensor a = rnd({5, 7}, 110, d), b = rnd({7, 3}, 111, d);
        Tensor ab = rnd({4, 5, 7}, 112, d), bb = rnd({4, 7, 3}, 113, d);
        Tensor at = rnd({7, 5}, 114, d), bt = rnd({3, 7}, 115, d);
        Tensor big_a = rnd({130, 257}, 116, d), big_b = rnd({257, 65}, 117, d);
        return Outputs{K::matmul(a, b), K::matmul(ab, b), K::matmul(a, bb), K::matmul(ab, bb),
                       K::matmul(at, b, true, false), K::matmul(a, bt, false, true), K::matmul(at, bt, true, true),
                       K::matmul(rnd({2, 1, 5, 7}, 118, d), rnd({3, 7, 3}, 119, d)), K::matmul(big_a, big_b),
                       K::matmul(ab.transpose(1, 2).contiguous(), bb, true, false)};
    }, 1e-4, 1e-4);
    parity("matmul f64", [](Device d) {
        Tensor a = rnd({6, 9}, 120, d, -1, 1, DType::f64), b = rnd({3, 9, 4}, 121, d, -1, 1, DType::f64);
        return Outputs{K::matmul(a, b), K::matmul(b, a, true, true)};
    }, 1e-12, 1e-12);
}

TEST_CASE("cuda: convolution forward, backward data, backward filter", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    struct C {
        Shape x, w;
        Conv2dParams p;
    };
    std::vector<C> cases = {
        {{2, 3, 9, 11}, {4, 3, 3, 3}, {}},
        {{2, 3, 9, 11}, {4, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}},
        {{1, 4, 10, 7}, {6, 2, 3, 2}, {1, 2, 2, 0, 1, 1, 2}},   // groups 2, asymmetric
        {{3, 2, 12, 12}, {5, 2, 3, 3}, {1, 1, 2, 2, 2, 2, 1}},  // dilation 2
        {{2, 8, 5, 5}, {8, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 8}},    // depthwise
        {{4, 16, 8, 8}, {32, 16, 1, 1}, {}},                    // 1x1
        {{2, 3, 32, 32}, {16, 3, 7, 7}, {2, 2, 3, 3, 1, 1, 1}}, // ResNet stem
    };
    int i = 0;
    for (const C& c : cases) {
        ++i;
        parity("conv2d case " + std::to_string(i), [&](Device d) {
            Tensor x = rnd(c.x, 130 + i, d), w = rnd(c.w, 150 + i, d);
            Tensor y = K::conv2d_forward(x, w, c.p);
            Tensor gy = rnd(y.shape(), 170 + i, d);
            return Outputs{y, K::conv2d_backward_data(gy, w, c.x, c.p), K::conv2d_backward_filter(x, gy, c.w, c.p)};
        }, 2e-4, 1e-4);
    }
    parity("conv2d f64 and non-contiguous input", [](Device d) {
        Tensor x = rnd({2, 5, 3, 7}, 190, d, -1, 1, DType::f64).permute({0, 2, 3, 1});  // [2, 3, 7, 5] strided
        Tensor w = rnd({4, 3, 3, 3}, 191, d, -1, 1, DType::f64);
        Conv2dParams p;
        p.pad_h = p.pad_w = 1;
        return Outputs{K::conv2d_forward(x, w, p)};
    }, 1e-10, 1e-10);
}

TEST_CASE("cuda: pooling and upsampling", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    auto pp = [](std::int64_t k, std::int64_t s, std::int64_t pad, bool inc = true) {
        Pool2dParams p;
        p.kernel_h = p.kernel_w = k;
        p.stride_h = p.stride_w = s;
        p.pad_h = p.pad_w = pad;
        p.count_include_pad = inc;
        return p;
    };
    for (Pool2dParams p : {pp(2, 2, 0), pp(3, 2, 1), pp(3, 1, 1), pp(3, 2, 0)}) {
        parity("max_pool2d k" + std::to_string(p.kernel_h) + " s" + std::to_string(p.stride_h), [&](Device d) {
            Tensor x = rnd({2, 3, 9, 10}, 200, d);
            auto [y, idx] = K::max_pool2d_forward(x, p);
            Tensor gy = rnd(y.shape(), 201, d);
            return Outputs{y, idx, K::max_pool2d_backward(gy, idx, x.shape())};
        });
    }
    for (Pool2dParams p : {pp(2, 2, 0), pp(3, 2, 1, true), pp(3, 2, 1, false), pp(3, 1, 1, false)}) {
        parity("avg_pool2d k" + std::to_string(p.kernel_h) + " pad" + std::to_string(p.pad_h) +
                   (p.count_include_pad ? " incl" : " excl"),
               [&](Device d) {
                   Tensor x = rnd({2, 3, 9, 10}, 202, d);
                   Tensor y = K::avg_pool2d_forward(x, p);
                   Tensor gy = rnd(y.shape(), 203, d);
                   return Outputs{y, K::avg_pool2d_backward(gy, x.shape(), p)};
               });
    }
    for (auto [oh, ow] : {std::pair<int, int>{1, 1}, {3, 3}, {4, 5}, {7, 7}}) {
        parity("adaptive_avg_pool2d " + std::to_string(oh) + "x" + std::to_string(ow), [&](Device d) {
            Tensor x = rnd({2, 3, 7, 10}, 204, d);
            Tensor y = K::adaptive_avg_pool2d_forward(x, oh, ow);
            Tensor gy = rnd(y.shape(), 205, d);
            return Outputs{y, K::adaptive_avg_pool2d_backward(gy, x.shape())};
        });
    }
    for (int s : {1, 2, 3}) {
        parity("upsample_nearest2d x" + std::to_string(s), [&](Device d) {
            Tensor x = rnd({2, 3, 5, 4}, 206, d);
            Tensor y = K::upsample_nearest2d_forward(x, s);
            Tensor gy = rnd(y.shape(), 207, d);
            return Outputs{y, K::upsample_nearest2d_backward(gy, x.shape())};
        });
    }
}

TEST_CASE("cuda: batch norm", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    // Channels shorter and longer than the GPU's 1024-thread block, with plane sizes that do
    // and do not divide it (the kernels walk (n, s) incrementally). {3, 2, 40, 41}, {2100, 3}
    // and {4, 3, 32, 33} (also with 2 statistics groups) have few channels and enough values
    // to be split over several blocks per channel (cuda/batch_norm.cu); the others are not.
    for (Shape s : {Shape{8, 5}, Shape{4, 3, 7, 9}, Shape{2, 6, 33}, Shape{130, 4, 3, 3}, Shape{3, 2, 40, 41},
                    Shape{2100, 3}, Shape{5, 2, 16, 16}, Shape{4, 3, 32, 33}}) {
        for (bool affine : {true, false}) {
            parity("batch_norm " + shape_str(s) + (affine ? " affine" : ""), [&](Device d) {
                std::int64_t c = s[1];
                Tensor x = rnd(s, 210, d, -2, 3);
                Tensor w = rnd({c}, 211, d, 0.5, 1.5), b = rnd({c}, 212, d);
                Tensor rm = rnd({c}, 213, d), rv = rnd({c}, 214, d, 0.5, 2);
                K::BatchNormSaved saved;
                Tensor y = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, &rm, &rv, true, 0.1,
                                                 1e-5, &saved);
                Tensor gy = rnd(s, 215, d);
                auto g = K::batch_norm_backward(gy, x, affine ? &w : nullptr, saved);
                Tensor ye = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, &rm, &rv, false,
                                                  0.1, 1e-5, nullptr);
                // Fused with ReLU: forward clipped in the same pass, backward masked by its output.
                K::BatchNormSaved saved_r;
                Tensor yr = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, nullptr, nullptr,
                                                  true, 0.1, 1e-5, &saved_r, BatchNormTail{nullptr, true});
                auto gr = K::batch_norm_backward(gy, x, affine ? &w : nullptr, saved_r, &yr);
                // A ResNet block's tail: + residual, then ReLU; backward also returns the
                // residual's (masked) gradient.
                K::BatchNormSaved saved_a;
                Tensor res = rnd(s, 216, d, -1.5, 1.5);
                Tensor ya = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, nullptr, nullptr,
                                                  true, 0.1, 1e-5, &saved_a, BatchNormTail{&res, true});
                auto ga = K::batch_norm_backward(gy, x, affine ? &w : nullptr, saved_a, &ya, true);
                Tensor ye_a = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, &rm, &rv, false,
                                                    0.1, 1e-5, nullptr, BatchNormTail{&res, true});
                Outputs out{y,  saved.mean, saved.invstd, rm,   rv,   g.x,  g.weight,  g.bias,    ye,
                            yr, gr.x,       gr.weight,    gr.bias, ya, ga.x, ga.weight, ga.bias, ga.relu_in, ye_a};
                if (s[0] % 2 == 0) {
                    // Statistics per half of the batch (both views of a DCoDR step in one pass).
                    K::BatchNormSaved saved_g;
                    Tensor yg = K::batch_norm_forward(x, affine ? &w : nullptr, affine ? &b : nullptr, &rm, &rv, true,
                                                      0.1, 1e-5, &saved_g, BatchNormTail{&res, true}, 2);
                    auto gg = K::batch_norm_backward(gy, x, affine ? &w : nullptr, saved_g, &yg, true);
                    for (const Tensor& t : {yg, saved_g.mean, saved_g.invstd, rm, rv, gg.x, gg.weight, gg.bias,
                                            gg.relu_in})
                        out.push_back(t);
                }
                return out;
            }, 2e-5, 1e-4);
        }
    }
}

TEST_CASE("cuda: kernels match the plain reference on random odd shapes (float64)", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    // The parity cases above hold the GPU to the CPU; these hold it to tensor/reference
    // directly, so a shared misunderstanding of an op cannot pass on both backends.
    std::mt19937_64 rng(4242);
    auto dice = [&](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    auto f64 = [](const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1) {
        return rnd(s, seed, kGpu, lo, hi, DType::f64);
    };
    std::uint64_t seed = 700;
    for (int trial = 0; trial < 10; ++trial) {
        Conv2dParams cp;
        cp.groups = dice(1, 2), cp.stride_h = dice(1, 3), cp.stride_w = dice(1, 3), cp.pad_h = dice(0, 2),
        cp.pad_w = dice(0, 2), cp.dil_h = dice(1, 2), cp.dil_w = dice(1, 2);
        const Shape xs{dice(1, 3), cp.groups * dice(1, 3), dice(5, 11), dice(5, 11)};
        const Shape ws{cp.groups * dice(1, 3), xs[1] / cp.groups, dice(1, 3), dice(1, 3)};
        INFO("trial " << trial << ": conv x " << shape_str(xs) << " w " << shape_str(ws) << " stride "
                      << cp.stride_h << "x" << cp.stride_w << " pad " << cp.pad_h << "x" << cp.pad_w << " dil "
                      << cp.dil_h << "x" << cp.dil_w << " groups " << cp.groups);
        Tensor x = f64(xs, seed++), w = f64(ws, seed++);
        Tensor y = K::conv2d_forward(x, w, cp);
        Tensor gy = f64(y.shape(), seed++);
        REQUIRE_CLOSE(y.to(kCpu), reference::conv2d_forward(x, w, cp), 1e-12, 1e-10);
        REQUIRE_CLOSE(K::conv2d_backward_data(gy, w, xs, cp).to(kCpu), reference::conv2d_backward_data(gy, w, xs, cp),
                      1e-12, 1e-10);
        REQUIRE_CLOSE(K::conv2d_backward_filter(x, gy, ws, cp).to(kCpu),
                      reference::conv2d_backward_filter(x, gy, ws, cp), 1e-12, 1e-10);

        Pool2dParams pp;
        pp.kernel_h = dice(1, 3), pp.kernel_w = dice(1, 3), pp.stride_h = dice(1, 2), pp.stride_w = dice(1, 3);
        pp.pad_h = dice(0, pp.kernel_h / 2), pp.pad_w = dice(0, pp.kernel_w / 2), pp.count_include_pad = dice(0, 1);
        INFO("pool kernel " << pp.kernel_h << "x" << pp.kernel_w << " stride " << pp.stride_h << "x" << pp.stride_w
                            << " pad " << pp.pad_h << "x" << pp.pad_w);
        auto [my, mi] = K::max_pool2d_forward(x, pp);
        auto [ry, ri] = reference::max_pool2d_forward(x, pp);
        REQUIRE_CLOSE(my.to(kCpu), ry, 0, 0);
        REQUIRE(mi.to_int_vector() == ri.to_int_vector());
        Tensor gp = f64(my.shape(), seed++);
        REQUIRE_CLOSE(K::max_pool2d_backward(gp, mi, xs).to(kCpu), reference::max_pool2d_backward(gp, mi, xs), 1e-14,
                      1e-12);
        REQUIRE_CLOSE(K::avg_pool2d_forward(x, pp).to(kCpu), reference::avg_pool2d_forward(x, pp), 1e-14, 1e-12);
        REQUIRE_CLOSE(K::avg_pool2d_backward(gp, xs, pp).to(kCpu), reference::avg_pool2d_backward(gp, xs, pp), 1e-14,
                      1e-12);

        const std::int64_t groups = dice(1, 2), C = dice(1, 4);
        const Shape bs{groups * dice(1, 3), C, dice(2, 40)};
        const bool relu = dice(0, 1) == 1;
        INFO("batch norm x " << shape_str(bs) << " groups " << groups << (relu ? " +residual +relu" : ""));
        Tensor bx = f64(bs, seed++, 1, 4), bw = f64({C}, seed++, 0.5, 1.5), bb = f64({C}, seed++);
        Tensor res = f64(bs, seed++);
        K::BatchNormSaved saved;
        BatchNormTail tail{relu ? &res : nullptr, relu};
        Tensor by = K::batch_norm_forward(bx, &bw, &bb, nullptr, nullptr, true, 0.1, 1e-5, &saved, tail, groups);
        auto ref = reference::batch_norm_forward_train(bx, &bw, &bb, nullptr, nullptr, 0.1, 1e-5, groups,
                                                       tail.residual, relu);
        REQUIRE_CLOSE(by.to(kCpu), ref.y, 1e-12, 1e-10);
        Tensor bgy = f64(bs, seed++);
        auto g = K::batch_norm_backward(bgy, bx, &bw, saved, relu ? &by : nullptr);
        auto rg = reference::batch_norm_backward(bgy, bx, &bw, ref.save_mean, ref.save_invstd, groups,
                                                 relu ? &ref.y : nullptr);
        REQUIRE_CLOSE(g.x.to(kCpu), rg.x, 1e-10, 1e-9);
        REQUIRE_CLOSE(g.weight.to(kCpu), rg.weight, 1e-10, 1e-9);
        REQUIRE_CLOSE(g.bias.to(kCpu), rg.bias, 1e-10, 1e-9);

        const std::int64_t M = dice(1, 13), N = dice(1, 13), Kd = dice(1, 13), B = dice(1, 3);
        const bool ta = dice(0, 1) == 1, tb = dice(0, 1) == 1;
        Tensor a = f64(ta ? Shape{B, Kd, M} : Shape{B, M, Kd}, seed++);
        Tensor b = f64(tb ? Shape{1, N, Kd} : Shape{1, Kd, N}, seed++);  // batch 1 broadcasts
        INFO("matmul a " << shape_str(a.shape()) << (ta ? "^T" : "") << " b " << shape_str(b.shape())
                         << (tb ? "^T" : ""));
        Tensor out = Tensor::empty({B, M, N}, DType::f64, kGpu);
        a.backend().matmul(a, b, out, ta, tb, false);
        REQUIRE_CLOSE(out.to(kCpu), reference::matmul(a, b, ta, tb), 1e-12, 1e-10);
    }
}

TEST_CASE("cuda: index ops", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    parity("index_select", [](Device d) {
        Tensor x = rnd({4, 6, 5}, 220, d);
        Tensor idx = idx_tensor({5, 0, 0, 3, 2}, {5}, d);
        return Outputs{K::index_select(x, 1, idx), K::index_select(x, 0, idx_tensor({3, 1}, {2}, d)),
                       K::index_select(x, -1, idx_tensor({4, 4, 0}, {3}, d)),
                       K::index_select(x.to(DType::i64), 1, idx)};
    }, 0, 0);
    parity("index_add with repeated indices", [](Device d) {
        Tensor src = rnd({4, 7, 5}, 221, d);
        Tensor idx = idx_tensor({2, 0, 2, 5, 2, 0, 1}, {7}, d);
        Tensor big_src = rnd({3000, 4}, 222, d);
        std::vector<std::int64_t> big_idx(3000);
        for (std::size_t i = 0; i < big_idx.size(); ++i) big_idx[i] = static_cast<std::int64_t>((i * 7919) % 37);
        return Outputs{K::index_add(src, 1, idx, {4, 6, 5}),
                       K::index_add(big_src, 0, idx_tensor(big_idx, {3000}, d), {37, 4})};
    }, 0, 0);  // same summation order as the CPU: bit-identical
    parity("gather", [](Device d) {
        Tensor x = rnd({3, 6, 4}, 223, d);
        std::vector<std::int64_t> v(3 * 2 * 4);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>((i * 5 + 1) % 6);
        Tensor idx = idx_tensor(v, {3, 2, 4}, d);
        Tensor labels = idx_tensor({3, 0, 9, 9, 1}, {5, 1}, d);
        return Outputs{K::gather(x, 1, idx), K::gather(rnd({5, 10}, 224, d), 1, labels)};
    }, 0, 0);
    parity("scatter_add with collisions", [](Device d) {
        Tensor src = rnd({3, 5, 4}, 225, d);
        std::vector<std::int64_t> v(3 * 5 * 4);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>((i * 3) % 2);
        Tensor idx = idx_tensor(v, {3, 5, 4}, d);
        return Outputs{K::scatter_add(src, 1, idx, {3, 2, 4}),
                       K::scatter_add(rnd({5, 1}, 226, d), 1, idx_tensor({3, 0, 9, 9, 1}, {5, 1}, d), {5, 10})};
    }, 0, 0);
}

TEST_CASE("cuda: fused Adam step", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    parity("adam_step", [](Device d) {
        Tensor p = rnd({37, 11}, 250, d), g = rnd({37, 11}, 251, d);
        Tensor m = rnd({37, 11}, 252, d, -0.1, 0.1), v = rnd({37, 11}, 253, d, 0.0, 0.01);
        for (int t = 1; t <= 3; ++t)
            p.backend().adam_step(p, g, m, v, 1e-2, 0.9, 0.999, 1e-8, 1 - std::pow(0.9, t), 1 - std::pow(0.999, t));
        return Outputs{p, m, v};
    }, 1e-6, 1e-5);
    // Multi-tensor: sizes below, at and above a chunk (32768 elements), a non-contiguous
    // parameter (single-tensor path) and a float64 one among float32 ones (single path too).
    auto make = [](Device d) {
        std::vector<Tensor> p, g, m, v;
        std::uint64_t seed = 260;
        for (Shape s : {Shape{5}, Shape{32768}, Shape{70001}, Shape{9, 4}, Shape{3, 3}}) {
            p.push_back(rnd(s, seed++, d));
            g.push_back(rnd(s, seed++, d));
            m.push_back(rnd(s, seed++, d, -0.1, 0.1));
            v.push_back(rnd(s, seed++, d, 0.0, 0.01));
        }
        p[3] = p[3].transpose(0, 1);  // [4, 9] view, not contiguous
        g[3] = g[3].transpose(0, 1).contiguous();
        m[3] = m[3].transpose(0, 1).contiguous();
        v[3] = v[3].transpose(0, 1).contiguous();
        p[4] = p[4].to(DType::f64);
        g[4] = g[4].to(DType::f64);
        m[4] = m[4].to(DType::f64);
        v[4] = v[4].to(DType::f64);
        return std::array<std::vector<Tensor>, 4>{p, g, m, v};
    };
    auto step_all = [](std::array<std::vector<Tensor>, 4>& t, bool multi) {
        for (int s = 1; s <= 3; ++s) {
            double c1 = 1 - std::pow(0.9, s), c2 = 1 - std::pow(0.999, s);
            std::vector<Backend::AdamTensors> list;
            for (std::size_t i = 0; i < t[0].size(); ++i) list.push_back({&t[0][i], &t[1][i], &t[2][i], &t[3][i]});
            if (multi) t[0][0].backend().adam_step_multi(list, 1e-2, 0.9, 0.999, 1e-8, c1, c2);
            else
                for (auto& a : list) a.param->backend().adam_step(*a.param, *a.grad, *a.m, *a.v, 1e-2, 0.9, 0.999, 1e-8,
                                                                  c1, c2);
        }
    };
    auto multi = make(kGpu), single = make(kGpu);
    step_all(multi, true);
    step_all(single, false);
    for (int k : {0, 2, 3})  // parameters and both moments: exactly what the single-tensor kernel gives
        for (std::size_t i = 0; i < multi[k].size(); ++i) REQUIRE(bit_equal(multi[k][i], single[k][i]));
    auto cpu = make(kCpu);
    step_all(cpu, true);
    for (std::size_t i = 0; i < cpu[0].size(); ++i) REQUIRE_CLOSE(multi[0][i].to(kCpu), cpu[0][i], 1e-6, 1e-5);
}

TEST_CASE("cuda: results are deterministic run to run", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    Tensor x = rnd({64, 3000}, 230, kGpu);
    REQUIRE(bit_equal(K::sum(x, {0}), K::sum(x, {0})));
    REQUIRE(bit_equal(K::sum(x), K::sum(x)));
    Tensor long_rows = rnd({2, 1 << 20}, 234, kGpu);
    REQUIRE(bit_equal(K::sum(long_rows, {1}), K::sum(long_rows, {1})));
    std::vector<std::int64_t> v(3000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>(i % 11);
    Tensor idx = idx_tensor(v, {3000}, kGpu);
    Tensor xt = x.transpose(0, 1).contiguous();
    REQUIRE(bit_equal(K::index_add(xt, 0, idx, {11, 64}), K::index_add(xt, 0, idx, {11, 64})));
    Tensor img = rnd({8, 16, 20, 20}, 231, kGpu), w = rnd({16, 16, 3, 3}, 232, kGpu);
    Conv2dParams p;
    p.pad_h = p.pad_w = 1;
    Tensor gy = rnd({8, 16, 20, 20}, 233, kGpu);
    REQUIRE(bit_equal(K::conv2d_backward_filter(img, gy, w.shape(), p), K::conv2d_backward_filter(img, gy, w.shape(), p)));
    REQUIRE(bit_equal(K::conv2d_backward_data(gy, w, img.shape(), p), K::conv2d_backward_data(gy, w, img.shape(), p)));
}

#ifdef DCODR_WITH_CUDA
TEST_CASE("cuda: caching allocator reuses blocks and reports memory", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    dcodr::cuda::synchronize();
    auto before = dcodr::cuda::memory_stats();
    {
        Tensor a = Tensor::empty({1 << 20}, DType::f32, kGpu);  // 4 MiB
        auto mid = dcodr::cuda::memory_stats();
        REQUIRE(mid.allocated >= before.allocated + (4u << 20));
        REQUIRE(mid.peak_allocated >= mid.allocated);
        REQUIRE(mid.reserved >= mid.allocated);
    }
    auto after_free = dcodr::cuda::memory_stats();
    REQUIRE(after_free.allocated == before.allocated);
    REQUIRE(after_free.reserved >= before.reserved);  // cached, not returned
    Tensor b = Tensor::empty({1 << 20}, DType::f32, kGpu);
    auto again = dcodr::cuda::memory_stats();
    REQUIRE(again.num_cache_hits > after_free.num_cache_hits);
    std::printf("cuda memory: %s\n", dcodr::cuda::memory_summary().c_str());
    SECTION("out of memory names the request and the holdings") {
        REQUIRE_THROWS_WITH(Tensor::empty({std::int64_t(1) << 48}, DType::f32, kGpu),
                            Contains("out of memory") && Contains("asked for") && Contains("holds"));
        Tensor c = Tensor::ones({1000}, DType::f32, kGpu);  // still usable afterwards
        REQUIRE(K::sum(c).item() == 1000.0);
    }
    dcodr::cuda::empty_cache();
    REQUIRE(dcodr::cuda::memory_stats().reserved <= dcodr::cuda::memory_stats().allocated + (64u << 20));
}

TEST_CASE("cuda: TF32 switch and cuDNN benchmark mode give close results", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    Tensor a = rnd({128, 256}, 240, kGpu), b = rnd({256, 64}, 241, kGpu);
    Tensor exact = K::matmul(a, b);
    dcodr::cuda::set_allow_tf32(true);
    Tensor fast = K::matmul(a, b);
    dcodr::cuda::set_allow_tf32(false);
    REQUIRE_CLOSE(fast.to(kCpu), exact.to(kCpu), 5e-2, 1e-2);
    // cuDNN benchmark mode (new configuration, so the search runs) agrees with heuristic mode.
    Tensor x = rnd({3, 5, 13, 13}, 242, kGpu), w = rnd({7, 5, 3, 3}, 243, kGpu);
    Conv2dParams p;
    p.pad_h = p.pad_w = 1;
    Tensor y0 = K::conv2d_forward(x, w, p);
    Tensor gy = rnd(y0.shape(), 244, kGpu);
    Tensor gx0 = K::conv2d_backward_data(gy, w, x.shape(), p), gw0 = K::conv2d_backward_filter(x, gy, w.shape(), p);
    dcodr::cuda::set_cudnn_benchmark(true);
    Tensor xb = rnd({3, 5, 13, 13}, 242, kGpu).contiguous();
    Tensor xb2 = K::concat({xb, xb}, 0);  // batch 6: a configuration not seen yet
    Tensor y1 = K::conv2d_forward(xb2, w, p).slice(0, 0, 3).contiguous();
    Tensor gy2 = K::concat({gy, gy}, 0);
    Tensor gx1 = K::conv2d_backward_data(gy2, w, xb2.shape(), p).slice(0, 0, 3).contiguous();
    Tensor gw1 = K::conv2d_backward_filter(xb2, gy2, w.shape(), p);
    dcodr::cuda::set_cudnn_benchmark(false);
    REQUIRE_CLOSE(y1.to(kCpu), y0.to(kCpu), 1e-4, 1e-4);
    REQUIRE_CLOSE(gx1.to(kCpu), gx0.to(kCpu), 1e-4, 1e-4);
    REQUIRE_CLOSE(gw1.to(kCpu), K::unary(UnaryOp::mul_scalar, gw0, 2.0).to(kCpu), 2e-4, 1e-4);
    std::printf("%s\n", dcodr::cuda::device_description().c_str());
}
#endif

#ifdef DCODR_WITH_CUDA
// The settings PyTorch trains with by default: cuDNN may pick non-deterministic algorithms,
// and convolutions may use TF32. Each is a separate algorithm choice per configuration (the
// cache key holds both switches); every direction must still match the CPU.
TEST_CASE("cuda: convolutions with non-deterministic algorithms and with TF32 match the CPU", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    Conv2dParams p;
    p.stride_h = 2;
    p.pad_h = p.pad_w = 1;
    auto directions = [&](Device d) {
        Tensor x = rnd({4, 6, 11, 9}, 250, d), w = rnd({8, 6, 3, 3}, 251, d);
        Tensor y = K::conv2d_forward(x, w, p);
        Tensor gy = rnd(y.shape(), 252, d);
        return Outputs{y, K::conv2d_backward_data(gy, w, x.shape(), p), K::conv2d_backward_filter(x, gy, w.shape(), p)};
    };
    struct Restore {  // the defaults again, even when a check fails
        ~Restore() {
            dcodr::cuda::set_deterministic(true);
            dcodr::cuda::set_allow_tf32(false);
        }
    } restore;
    dcodr::cuda::set_deterministic(false);
    parity("conv, non-deterministic algorithms", directions, 1e-4, 1e-4);
    dcodr::cuda::set_deterministic(true);
    dcodr::cuda::set_allow_tf32(true);
    // TF32 keeps 10 mantissa bits: ~1e-3 relative per product, sums of 54 products.
    parity("conv, TF32", directions, 2e-2, 1e-2);
}
#endif

// Every parameter's gradient on the GPU against the CPU's, relative to the gradient's RMS (TF32-free
// float32: reductions differ in order only).
static void require_same_gradients(const std::vector<nn::NamedTensor>& cpu, const std::vector<nn::NamedTensor>& gpu) {
    REQUIRE(cpu.size() == gpu.size());
    for (std::size_t i = 0; i < cpu.size(); ++i) {
        INFO("gradient of " << cpu[i].name);
        Tensor gc = cpu[i].tensor.grad(), gg = gpu[i].tensor.grad().to(kCpu);
        double scale = std::sqrt(K::sum(K::unary(UnaryOp::square, gc)).item() / static_cast<double>(gc.numel()));
        REQUIRE_CLOSE(gg, gc, 1e-3 * scale + 1e-7, 1e-3);
    }
}

TEST_CASE("cuda: a whole DCoDR training step matches the CPU (loss and every gradient)", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    nn::manual_seed(21);
    nn::DcodrEncoder cpu_model({18, 0.25, 64, 32, true});
    nn::manual_seed(21);
    nn::DcodrEncoder gpu_model({18, 0.25, 64, 32, true});
    gpu_model.to(kGpu);
    Tensor clean = rnd({16, 3, 32, 32}, 40, kCpu, 0, 1), positive = rnd({16, 3, 32, 32}, 41, kCpu, 0, 1);
    std::vector<std::int64_t> domains = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    method::ContrastiveOptions opt{0.1, method::ContrastiveMode::domain_wise, 0};
    auto step = [&](nn::DcodrEncoder& m, Device d) {
        Tensor z = l2_normalize(m.forward(clean.to(d)), 1), p = l2_normalize(m.forward(positive.to(d)), 1);
        Tensor loss = method::contrastive_loss(z, p, domains, opt);
        backward(loss);
        return loss.item();
    };
    double l_cpu = step(cpu_model, kCpu), l_gpu = step(gpu_model, kGpu);
    REQUIRE(l_gpu == Approx(l_cpu).epsilon(1e-4));
    require_same_gradients(cpu_model.named_parameters(), gpu_model.named_parameters());
    // Running statistics updated identically (two training-mode passes).
    auto bc = cpu_model.named_buffers(), bg = gpu_model.named_buffers();
    for (std::size_t i = 0; i < bc.size(); ++i)
        if (bc[i].tensor.dtype() != DType::i64) REQUIRE_CLOSE(bg[i].tensor.to(kCpu), bc[i].tensor, 1e-4, 1e-3);
}

TEST_CASE("cuda: a whole DCoDR step with the decoder matches the CPU (both losses and every gradient)", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    // Encoder with head, generator, embedding, modulation, VGG16 (narrow, seeded random weights)
    // and the joint loss; the encoder's pass over both views with statistics per view, as trained.
    nn::GeneratorConfig g;
    g.code_dim = 32;
    g.n_domains = 4;
    g.domain_dim = 16;
    g.channels = 16;
    g.image_size = 32;
    method::PerceptualOptions po;
    po.mode = method::PerceptualMode::vgg16;
    po.vgg_width = 1.0 / 16;
    struct Model {
        std::unique_ptr<nn::DcodrEncoder> encoder;
        std::unique_ptr<nn::DcodrDecoder> decoder;
        std::unique_ptr<method::ReconstructionLoss> rec;
    };
    auto build = [&](Device d) {
        nn::manual_seed(23);
        Model m{std::make_unique<nn::DcodrEncoder>(nn::EncoderConfig{18, 0.25, 64, 32, true}),
                std::make_unique<nn::DcodrDecoder>(g), std::make_unique<method::ReconstructionLoss>(po, d)};
        m.encoder->to(d);
        m.decoder->to(d);
        return m;
    };
    Model cpu = build(kCpu), gpu = build(kGpu);
    Tensor views = rnd({16, 3, 32, 32}, 50, kCpu, 0, 1), positives = rnd({16, 3, 32, 32}, 51, kCpu, 0, 1);
    std::vector<std::int64_t> domains = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    method::ContrastiveOptions opt{0.1, method::ContrastiveMode::domain_wise, 0};
    auto step = [&](Model& m, Device d) {
        Tensor codes;
        {
            nn::BatchStatsGroups per_view(2);
            codes = l2_normalize(m.encoder->forward(kernels::concat({views, positives}, 0).to(d)), 1);
        }
        Tensor z = slice(codes, 0, 0, 16), p = slice(codes, 0, 16, 32);
        Tensor rec = (*m.rec)(m.decoder->forward(z, Tensor::from_vector(domains, {16}).to(d)), views.to(d));
        Tensor loss = add(method::contrastive_loss(z, p, domains, opt), mul_scalar(rec, 0.3));
        backward(loss);
        return std::pair{loss.item(), rec.item()};
    };
    auto [l_cpu, r_cpu] = step(cpu, kCpu);
    auto [l_gpu, r_gpu] = step(gpu, kGpu);
    REQUIRE(r_gpu == Approx(r_cpu).epsilon(1e-4));
    REQUIRE(l_gpu == Approx(l_cpu).epsilon(1e-4));
    require_same_gradients(cpu.encoder->named_parameters(), gpu.encoder->named_parameters());
    require_same_gradients(cpu.decoder->named_parameters(), gpu.decoder->named_parameters());
    for (auto& p : gpu.rec->vgg()->named_parameters()) REQUIRE_FALSE(p.tensor.grad().defined());  // frozen
}

TEST_CASE("cuda: composite ops and their gradients (softmax, cross-entropy, l2-normalise, instance norm, AdaIN)",
          "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    // Composites run on the GPU through the generic kernels; forward values and the gradients
    // of every input of one scalar objective must match the CPU.
    parity("composites", [](Device d) {
        Tensor x = rnd({6, 9}, 301, d).set_requires_grad(true);
        Tensor img = rnd({2, 3, 5, 7}, 302, d).set_requires_grad(true);
        Tensor scale = rnd({2, 3}, 303, d, 0.5, 1.5).set_requires_grad(true);
        Tensor shift = rnd({2, 3}, 304, d).set_requires_grad(true);
        Tensor target = rnd({6, 9}, 305, d);
        Tensor labels = idx_tensor({0, 8, 3, 3, 5, 1}, {6}, d);
        auto weigh = [&](const Tensor& t, std::uint64_t seed) { return sum(t * rnd(t.shape(), seed, d)); };
        Tensor sm = softmax(x, 1), lsm = log_softmax(x, 1), lse = logsumexp(x, 1), ce = cross_entropy(x, labels);
        Tensor n2 = l2_normalize(x, 1), lr = leaky_relu(x, 0.2), v = var(x, {1});
        auto [im, iv] = instance_norm_stats(img);
        Tensor ad = adain(img, scale, shift);
        Tensor objective = weigh(sm, 310) + weigh(lsm, 311) + weigh(lse, 312) + ce + weigh(n2, 313) + weigh(lr, 314) +
                           weigh(v, 315) + weigh(im, 316) + weigh(iv, 317) + weigh(ad, 318) + l1_loss(x, target) +
                           mse_loss(x, target);
        backward(objective);
        return Outputs{sm, lsm, lse, ce, n2, lr, v, im, iv, ad, objective, x.grad(), img.grad(), scale.grad(),
                       shift.grad()};
    }, 1e-5, 1e-4);
}

#ifdef DCODR_WITH_CUDA
TEST_CASE("cuda: the profiler times GPU ops with events and changes no result", "[cuda]") {
    REQUIRE_GPU_OR_SKIP();
    Tensor x = rnd({4, 3, 16, 16}, 320, kGpu), w = rnd({8, 3, 3, 3}, 321, kGpu);
    Conv2dParams p;
    p.pad_h = p.pad_w = 1;
    Tensor plain = K::conv2d_forward(x, w, p);
    profiler::reset();
    profiler::enable(kGpu);
    Tensor y = K::conv2d_forward(x, w, p);
    Tensor z = K::binary(BinaryOp::mul, y, y);
    auto stats = dcodr::cuda::memory_stats(0);  // cuda::backend_of while the device is wrapped
    profiler::disable();
    REQUIRE(stats.allocated > 0);
    REQUIRE(bit_equal(y, plain));
    auto rows = profiler::rows_by_op();
    bool conv = false, mul = false;
    for (const auto& r : rows) {
        if (r.op == "conv2d_forward") conv = r.calls == 1 && r.ms > 0;
        if (r.op == "binary") mul = r.calls == 1 && r.ms > 0;
    }
    REQUIRE(conv);
    REQUIRE(mul);
    profiler::reset();
}
#endif

TEST_CASE("cuda: DCoDR-norec trains on the GPU (loss falls) and its weights load on the CPU", "[cuda][train]") {
    REQUIRE_GPU_OR_SKIP();
    auto ds = testing::tiny_shapes(400, 11);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 60);
    cfg.device = kGpu;
    // Per process: test_cuda_parity and test_cuda_parity_sim may run this case at the same time.
    std::filesystem::path dir = testing::temp_dir("cuda-train");
    cfg.out_dir = dir.string();
    method::Trainer trainer(cfg, ds);
    auto steps = trainer.run();
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) {
        first += steps[static_cast<std::size_t>(i)].loss / 10;
        last += steps[steps.size() - 1 - static_cast<std::size_t>(i)].loss / 10;
    }
    INFO("mean loss of the first 10 steps " << first << ", of the last 10 " << last);
    REQUIRE(last < first * 0.85);
    // The saved encoder, loaded on the CPU, encodes like the trained one does on the GPU.
    auto cpu_encoder = method::load_encoder((dir / "encoder.safetensors").string(), kCpu);
    trainer.encoder().eval();
    Tensor on_gpu = method::encode_dataset(trainer.encoder(), ds, cfg.image_size, kGpu);
    Tensor on_cpu = method::encode_dataset(*cpu_encoder, ds, cfg.image_size, kCpu);
    REQUIRE_CLOSE(on_gpu.to(kCpu), on_cpu, 1e-4, 1e-3);
    std::filesystem::remove_all(dir);
}

// Without a usable GPU the GPU cases return early; the process then exits 77 so that
// `meson test` reports SKIP instead of a pass that tested nothing. Run with "[nogpu]" to
// execute (and count) only the checks that need no GPU.
int main(int argc, char** argv) {
    Catch::Session session;
    int rc = session.applyCommandLine(argc, argv);
    if (rc != 0) return rc;
    rc = session.run();
    bool only_nogpu = false;
    for (int i = 1; i < argc; ++i) only_nogpu = only_nogpu || std::string(argv[i]) == "[nogpu]";
    if (rc == 0 && !only_nogpu && !have_gpu()) {
        std::printf("SKIP: GPU parity tests did not run: no CUDA device (%s)\n", g_no_gpu_reason.c_str());
        return 77;
    }
    return rc;
}
