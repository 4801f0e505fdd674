// Pooling and nearest upsampling through the kernels:: front-ends: hand-computed values,
// indices, ties and padding, the direct-loop references (tensor/reference), and
// finite-difference backward checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "tensor/ops.h"
#include "tensor/reference/reference.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::numeric_grad;
using dcodr::testing::random_tensor;

namespace {

Tensor f64(std::vector<double> v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }

Pool2dParams pool(std::int64_t k, std::int64_t s, std::int64_t pad = 0, bool include_pad = true) {
    Pool2dParams p;
    p.kernel_h = p.kernel_w = k;
    p.stride_h = p.stride_w = s;
    p.pad_h = p.pad_w = pad;
    p.count_include_pad = include_pad;
    return p;
}

}  // namespace

TEST_CASE("max_pool2d: values and flat indices") {
    Tensor x = f64({1, 5, 2, 0,  //
                    3, 4, 8, 1,  //
                    0, 2, 6, 6,  //
                    9, 1, 7, 3},
                   {1, 1, 4, 4});
    auto [y, idx] = kernels::max_pool2d_forward(x, pool(2, 2));
    REQUIRE(y.to_vector() == std::vector<double>{5, 8, 9, 7});
    REQUIRE(idx.dtype() == DType::i64);
    REQUIRE(idx.to_int_vector() == std::vector<std::int64_t>{1, 6, 12, 14});
    Tensor gx = kernels::max_pool2d_backward(f64({1, 2, 3, 4}, {1, 1, 2, 2}), idx, x.shape());
    REQUIRE(gx.to_vector() == std::vector<double>{0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0});
}

TEST_CASE("max_pool2d: ties pick the first maximum; padding never wins") {
    Tensor x = Tensor::full({1, 1, 3, 3}, 2.0, DType::f64);
    auto [y, idx] = kernels::max_pool2d_forward(x, pool(2, 1));
    REQUIRE(y.to_vector() == std::vector<double>{2, 2, 2, 2});
    REQUIRE(idx.to_int_vector() == std::vector<std::int64_t>{0, 1, 3, 4});
    // All-negative input with padding: padding is -inf, so the max is a real element.
    Tensor neg = f64({-5, -4, -3, -2, -1, -6, -7, -8, -9}, {1, 1, 3, 3});
    auto [yn, in] = kernels::max_pool2d_forward(neg, pool(3, 2, 1));
    REQUIRE(yn.to_vector() == std::vector<double>{-1, -1, -1, -1});
    REQUIRE(in.to_int_vector() == std::vector<std::int64_t>{4, 4, 4, 4});
    // A window of only -inf answers its first element in the plane (PyTorch's starting index),
    // in float32 (the CPU's vector path) and float64.
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor minf = Tensor::full({1, 1, 3, 5}, -std::numeric_limits<double>::infinity(), dt);
        auto [ym, im] = kernels::max_pool2d_forward(minf, pool(3, 2, 1));
        REQUIRE(im.to_int_vector() == std::vector<std::int64_t>{0, 1, 3, 5, 6, 8});
        REQUIRE(ym.to(DType::f64).to_vector() == std::vector<double>(6, -std::numeric_limits<double>::infinity()));
    }
    // Overlapping windows route gradient to the shared maximum, summed.
    Tensor gx = kernels::max_pool2d_backward(Tensor::ones({1, 1, 2, 2}, DType::f64), in, neg.shape());
    REQUIRE(gx.to_vector() == std::vector<double>{0, 0, 0, 0, 4, 0, 0, 0, 0});
}

TEST_CASE("max_pool2d: NaN propagates like PyTorch") {
    Tensor x = f64({1, NAN, 3, 4}, {1, 1, 2, 2});
    auto [y, idx] = kernels::max_pool2d_forward(x, pool(2, 2));
    REQUIRE(std::isnan(y.item()));
    REQUIRE(idx.to_int_vector() == std::vector<std::int64_t>{1});
}

TEST_CASE("max_pool2d matches a direct loop and finite differences") {
    std::uint64_t seed = 1;
    for (Pool2dParams p : {pool(2, 2), pool(3, 2, 1), pool(3, 1, 1), pool(2, 1), pool(3, 3)}) {
        for (Shape s : {Shape{2, 3, 7, 7}, Shape{1, 2, 6, 9}, Shape{3, 1, 5, 4}}) {
            INFO(shape_str(s) << " k" << p.kernel_h << " s" << p.stride_h << " p" << p.pad_h);
            Tensor x = random_tensor(s, seed++);  // continuous values: no ties, FD is valid
            auto [y, idx] = kernels::max_pool2d_forward(x, p);
            auto [ry, ridx] = reference::max_pool2d_forward(x, p);
            REQUIRE_CLOSE(y, ry, 0, 0);
            REQUIRE(idx.to_int_vector() == ridx.to_int_vector());
            Tensor r = random_tensor(y.shape(), seed++);
            Tensor gx = kernels::max_pool2d_backward(r, idx, s);
            REQUIRE_CLOSE(gx, numeric_grad(x, r, [&] { return kernels::max_pool2d_forward(x, p).first; }), 1e-6,
                          1e-6);
        }
    }
    // float32 agrees with float64.
    Tensor x = random_tensor({4, 8, 20, 20}, 99);
    auto [y, idx] = kernels::max_pool2d_forward(x, pool(3, 2, 1));
    auto [yf, idxf] = kernels::max_pool2d_forward(x.to(DType::f32), pool(3, 2, 1));
    REQUIRE_CLOSE(yf.to(DType::f64), y, 1e-7, 1e-6);
    REQUIRE(idxf.to_int_vector() == idx.to_int_vector());
}

// Values from {0, 1, 2}, some NaNs and -infs: ties and NaNs everywhere, in windows on the
// plane's borders and inside it, on rows narrower and wider than the 16 columns the CPU takes
// at once, in float32 and float64, against the reference's window-by-window rule.
TEST_CASE("max_pool2d keeps PyTorch's tie and NaN rules on every path") {
    std::uint64_t seed = 40;
    for (Pool2dParams p : {pool(3, 2, 1), pool(2, 2), pool(3, 1, 1), pool(3, 3), pool(2, 1)}) {
        for (Shape s : {Shape{2, 3, 12, 17}, Shape{1, 2, 5, 40}, Shape{1, 1, 3, 2}, Shape{1, 2, 4, 33}}) {
            Tensor x = random_tensor(s, seed++, 0.0, 3.0);
            std::vector<double> v = x.to_vector();
            // Some NaNs, some -inf (a window of only -inf and padding answers its first element).
            for (std::size_t i = 0; i < v.size(); ++i)
                v[i] = (i * 7919) % 23 == 0 ? NAN : (i * 104729) % 7 == 0 ? -INFINITY : std::floor(v[i]);
            for (DType dt : {DType::f64, DType::f32}) {
                INFO(shape_str(s) << " k" << p.kernel_h << " s" << p.stride_h << " p" << p.pad_h
                                  << (dt == DType::f32 ? " float32" : " float64"));
                Tensor xt = Tensor::from_vector(v, s, DType::f64).to(dt);
                auto [y, idx] = kernels::max_pool2d_forward(xt, p);
                auto [ry, ridx] = reference::max_pool2d_forward(xt.to(DType::f64), p);
                REQUIRE(idx.to_int_vector() == ridx.to_int_vector());
                std::vector<double> got = y.to(DType::f64).to_vector(), want = ry.to_vector();
                for (std::size_t i = 0; i < got.size(); ++i)
                    REQUIRE((got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))));
            }
        }
    }
}

TEST_CASE("avg_pool2d: hand-computed values with and without counting padding") {
    Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    REQUIRE(kernels::avg_pool2d_forward(x, pool(2, 1)).to_vector() == std::vector<double>{3, 4, 6, 7});
    // 3x3 window, stride 2, padding 1: corner windows hold 4 real pixels of 9 positions.
    REQUIRE(kernels::avg_pool2d_forward(x, pool(3, 2, 1, true)).to_vector() ==
            std::vector<double>{12.0 / 9, 16.0 / 9, 24.0 / 9, 28.0 / 9});
    REQUIRE(kernels::avg_pool2d_forward(x, pool(3, 2, 1, false)).to_vector() ==
            std::vector<double>{3, 4, 6, 7});
    // Backward spreads gy/divisor over each window.
    Tensor gx = kernels::avg_pool2d_backward(Tensor::ones({1, 1, 2, 2}, DType::f64), x.shape(), pool(2, 1));
    REQUIRE(gx.to_vector() == std::vector<double>{0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});
}

TEST_CASE("avg_pool2d matches a direct loop and finite differences") {
    std::uint64_t seed = 50;
    for (bool include : {true, false}) {
        for (Pool2dParams p : {pool(2, 2), pool(3, 2, 1, include), pool(3, 1, 1, include), pool(4, 3, 2, include),
                               pool(2, 1, 1, include)}) {
            for (Shape s : {Shape{2, 3, 7, 7}, Shape{1, 2, 6, 9}}) {
                INFO(shape_str(s) << " k" << p.kernel_h << " s" << p.stride_h << " p" << p.pad_h << " include "
                                  << p.count_include_pad);
                Tensor x = random_tensor(s, seed++);
                Tensor y = kernels::avg_pool2d_forward(x, p);
                REQUIRE_CLOSE(y, reference::avg_pool2d_forward(x, p), 1e-14, 1e-14);
                Tensor r = random_tensor(y.shape(), seed++);
                REQUIRE_CLOSE(kernels::avg_pool2d_backward(r, s, p),
                              numeric_grad(x, r, [&] { return kernels::avg_pool2d_forward(x, p); }), 1e-6, 1e-6);
            }
        }
    }
}

TEST_CASE("adaptive_avg_pool2d uses PyTorch's overlapping bins") {
    Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    // Bins over 3 -> 2: rows [0, 2) and [1, 3).
    REQUIRE(kernels::adaptive_avg_pool2d_forward(x, 2, 2).to_vector() == std::vector<double>{3, 4, 6, 7});
    REQUIRE(kernels::adaptive_avg_pool2d_forward(x, 1, 1).item() == 5.0);
    REQUIRE(kernels::adaptive_avg_pool2d_forward(x, 3, 3).to_vector() == x.to_vector());
    // 5 -> 3 rows: [0,2), [1,4), [3,5); 7 -> 2 columns: [0,4), [3,7).
    Tensor big = random_tensor({2, 3, 5, 7}, 3);
    Tensor y = kernels::adaptive_avg_pool2d_forward(big, 3, 2);
    auto v = big.to_vector();
    std::int64_t rows[3][2] = {{0, 2}, {1, 4}, {3, 5}}, cols[2][2] = {{0, 4}, {3, 7}};
    std::vector<double> ref;
    for (std::int64_t pl = 0; pl < 6; ++pl)
        for (auto& rr : rows)
            for (auto& cc : cols) {
                double s = 0;
                for (std::int64_t h = rr[0]; h < rr[1]; ++h)
                    for (std::int64_t w = cc[0]; w < cc[1]; ++w) s += v[(pl * 5 + h) * 7 + w];
                ref.push_back(s / ((rr[1] - rr[0]) * (cc[1] - cc[0])));
            }
    REQUIRE_CLOSE(y, f64(ref, {2, 3, 3, 2}), 1e-14, 1e-14);
    // Backward: global pooling spreads gy / (H·W).
    Tensor g = kernels::adaptive_avg_pool2d_backward(f64({9}, {1, 1, 1, 1}), x.shape());
    REQUIRE(g.to_vector() == std::vector<double>(9, 1.0));
}

TEST_CASE("adaptive_avg_pool2d backward matches finite differences") {
    std::uint64_t seed = 200;
    for (auto [oh, ow] : {std::pair{3, 2}, std::pair{1, 1}, std::pair{4, 4}, std::pair{2, 5}, std::pair{7, 6}}) {
        INFO(oh << "x" << ow);
        Tensor x = random_tensor({2, 2, 5, 7}, seed++);
        Tensor r = random_tensor({2, 2, oh, ow}, seed++);
        REQUIRE_CLOSE(kernels::adaptive_avg_pool2d_backward(r, x.shape()),
                      numeric_grad(x, r, [&] { return kernels::adaptive_avg_pool2d_forward(x, oh, ow); }), 1e-6,
                      1e-6);
    }
}

TEST_CASE("upsample_nearest2d repeats pixels and its backward sums blocks") {
    Tensor x = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    Tensor y = kernels::upsample_nearest2d_forward(x, 2);
    REQUIRE(y.shape() == Shape{1, 1, 4, 4});
    REQUIRE(y.to_vector() == std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    Tensor g = kernels::upsample_nearest2d_backward(Tensor::arange(16, DType::f64).view({1, 1, 4, 4}), x.shape());
    REQUIRE(g.to_vector() == std::vector<double>{0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15});
    Tensor xs = random_tensor({2, 3, 3, 4}, 5);
    for (std::int64_t s : {1, 3}) {
        Tensor r = random_tensor({2, 3, 3 * s, 4 * s}, 6);
        REQUIRE_CLOSE(kernels::upsample_nearest2d_backward(r, xs.shape()),
                      numeric_grad(xs, r, [&] { return kernels::upsample_nearest2d_forward(xs, s); }), 1e-6, 1e-6);
    }
}

TEST_CASE("pooling on large float32 batches agrees with float64") {
    // Big enough for the kernels to run threaded.
    Tensor x = random_tensor({8, 16, 32, 32}, 11);
    Tensor xf = x.to(DType::f32);
    REQUIRE_CLOSE(kernels::avg_pool2d_forward(xf, pool(3, 2, 1)).to(DType::f64),
                  kernels::avg_pool2d_forward(x, pool(3, 2, 1)), 1e-6, 1e-5);
    REQUIRE_CLOSE(kernels::adaptive_avg_pool2d_forward(xf, 1, 1).to(DType::f64),
                  kernels::adaptive_avg_pool2d_forward(x, 1, 1), 1e-6, 1e-5);
    REQUIRE_CLOSE(kernels::upsample_nearest2d_forward(xf, 2).to(DType::f64), kernels::upsample_nearest2d_forward(x, 2),
                  1e-6, 1e-6);
    Tensor g = random_tensor({8, 16, 16, 16}, 12);
    REQUIRE_CLOSE(kernels::avg_pool2d_backward(g.to(DType::f32), x.shape(), pool(3, 2, 1)).to(DType::f64),
                  kernels::avg_pool2d_backward(g, x.shape(), pool(3, 2, 1)), 1e-6, 1e-5);
}
