// Batch norm kernels through kernels::batch_norm_forward/backward: batch statistics,
// running-stat updates (PyTorch's rule), evaluation mode, and finite-difference gradients.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "tensor/ops.h"
#include "tensor/reference/reference.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::numeric_grad;
using dcodr::testing::random_tensor;

namespace {

Tensor f64(std::vector<double> v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }

// Per-channel mean and biased variance of x [N, C, ...], in double.
std::pair<std::vector<double>, std::vector<double>> channel_stats(const Tensor& x) {
    std::int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
    auto v = x.to_vector();
    std::vector<double> mean(C, 0.0), var(C, 0.0);
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t s = 0; s < S; ++s) mean[c] += v[(n * C + c) * S + s] / (N * S);
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t s = 0; s < S; ++s) {
                double d = v[(n * C + c) * S + s] - mean[c];
                var[c] += d * d / (N * S);
            }
    return {mean, var};
}

}  // namespace

TEST_CASE("batch norm training normalises each channel to mean 0, variance 1") {
    for (Shape s : {Shape{4, 3, 5, 5}, Shape{16, 5}, Shape{2, 4, 3}}) {
        INFO(shape_str(s));
        Tensor x = random_tensor(s, 1, -3.0, 5.0);
        kernels::BatchNormSaved saved;
        Tensor y = kernels::batch_norm_forward(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 0.0, &saved);
        auto [mean, var] = channel_stats(y);
        for (std::size_t c = 0; c < mean.size(); ++c) {
            REQUIRE(std::abs(mean[c]) < 1e-12);
            REQUIRE(std::abs(var[c] - 1.0) < 1e-10);
        }
        auto [xm, xv] = channel_stats(x);
        REQUIRE_CLOSE(saved.mean, f64(xm, {s[1]}), 1e-12, 1e-12);
        std::vector<double> invstd;
        for (double v : xv) invstd.push_back(1.0 / std::sqrt(v));
        REQUIRE_CLOSE(saved.invstd, f64(invstd, {s[1]}), 1e-12, 1e-10);
    }
}

TEST_CASE("batch norm training: hand-computed values, affine parameters and running stats") {
    // One channel holding 1, 2, 3, 4 (N=2, S=2), another holding 0, 0, 2, 2.
    Tensor x = f64({1, 2, 0, 0, 3, 4, 2, 2}, {2, 2, 2});
    Tensor w = f64({2, 1}, {2}), b = f64({1, -1}, {2});
    Tensor rm = f64({0.5, 0}, {2}), rv = f64({2, 1}, {2});
    kernels::BatchNormSaved saved;
    double eps = 1e-5, m = 0.1;
    Tensor y = kernels::batch_norm_forward(x, &w, &b, &rm, &rv, true, m, eps, &saved);
    // Channel 0: mean 2.5, biased var 1.25, unbiased 5/3. Channel 1: mean 1, var 1, unbiased 4/3.
    double is0 = 1 / std::sqrt(1.25 + eps), is1 = 1 / std::sqrt(1.0 + eps);
    REQUIRE_CLOSE(saved.mean, f64({2.5, 1}, {2}), 1e-15, 0);
    REQUIRE_CLOSE(saved.invstd, f64({is0, is1}, {2}), 0, 1e-14);
    REQUIRE_CLOSE(rm, f64({0.9 * 0.5 + 0.1 * 2.5, 0.1 * 1}, {2}), 1e-15, 1e-15);
    REQUIRE_CLOSE(rv, f64({0.9 * 2 + 0.1 * 5.0 / 3, 0.9 * 1 + 0.1 * 4.0 / 3}, {2}), 1e-15, 1e-15);
    std::vector<double> ref = {2 * (1 - 2.5) * is0 + 1, 2 * (2 - 2.5) * is0 + 1, -is1 - 1, -is1 - 1,
                               2 * (3 - 2.5) * is0 + 1, 2 * (4 - 2.5) * is0 + 1, is1 - 1,  is1 - 1};
    REQUIRE_CLOSE(y, f64(ref, {2, 2, 2}), 1e-14, 1e-14);
}

TEST_CASE("batch norm evaluation uses the running statistics") {
    Tensor x = random_tensor({3, 4, 6}, 2);
    Tensor w = random_tensor({4}, 3), b = random_tensor({4}, 4);
    Tensor rm = random_tensor({4}, 5), rv = random_tensor({4}, 6, 0.5, 2.0);
    Tensor rm0 = rm.clone(), rv0 = rv.clone();
    double eps = 1e-3;
    Tensor y = kernels::batch_norm_forward(x, &w, &b, &rm, &rv, false, 0.1, eps, nullptr);
    REQUIRE(rm.to_vector() == rm0.to_vector());  // evaluation leaves running stats alone
    REQUIRE(rv.to_vector() == rv0.to_vector());
    auto vx = x.to_vector(), vw = w.to_vector(), vb = b.to_vector(), vm = rm.to_vector(), vv = rv.to_vector();
    std::vector<double> ref(vx.size());
    for (std::size_t i = 0; i < vx.size(); ++i) {
        std::size_t c = (i / 6) % 4;
        ref[i] = (vx[i] - vm[c]) / std::sqrt(vv[c] + eps) * vw[c] + vb[c];
    }
    REQUIRE_CLOSE(y, f64(ref, x.shape()), 1e-14, 1e-14);
    // Without affine parameters: scale 1, shift 0.
    Tensor y0 = kernels::batch_norm_forward(x, nullptr, nullptr, &rm, &rv, false, 0.1, eps, nullptr);
    for (std::size_t i = 0; i < vx.size(); ++i) ref[i] = (vx[i] - vm[(i / 6) % 4]) / std::sqrt(vv[(i / 6) % 4] + eps);
    REQUIRE_CLOSE(y0, f64(ref, x.shape()), 1e-14, 1e-14);
}

TEST_CASE("batch norm backward matches finite differences") {
    std::uint64_t seed = 10;
    for (Shape s : {Shape{3, 2, 4, 3}, Shape{6, 3}, Shape{2, 3, 5}}) {
        for (bool affine : {true, false}) {
            INFO(shape_str(s) << (affine ? " affine" : " no affine"));
            std::int64_t c = s[1];
            Tensor x = random_tensor(s, seed++, -2.0, 3.0);
            Tensor w = random_tensor({c}, seed++, 0.5, 1.5), b = random_tensor({c}, seed++);
            Tensor r = random_tensor(s, seed++);
            const Tensor* pw = affine ? &w : nullptr;
            const Tensor* pb = affine ? &b : nullptr;
            double eps = 1e-5;
            auto forward = [&] {
                kernels::BatchNormSaved sv;
                return kernels::batch_norm_forward(x, pw, pb, nullptr, nullptr, true, 0.1, eps, &sv);
            };
            kernels::BatchNormSaved saved;
            kernels::batch_norm_forward(x, pw, pb, nullptr, nullptr, true, 0.1, eps, &saved);
            kernels::BatchNormGrads g = kernels::batch_norm_backward(r, x, pw, saved);
            REQUIRE_CLOSE(g.x, numeric_grad(x, r, forward), 1e-6, 1e-6);
            // gweight = sum(gy·xhat), gbias = sum(gy): the weight/bias gradients even without affine.
            Tensor one = Tensor::ones({c}, DType::f64), zero = Tensor::zeros({c}, DType::f64);
            Tensor& wv = affine ? w : one;
            Tensor& bv = affine ? b : zero;
            auto forward_wb = [&] {
                kernels::BatchNormSaved sv;
                return kernels::batch_norm_forward(x, &wv, &bv, nullptr, nullptr, true, 0.1, eps, &sv);
            };
            REQUIRE_CLOSE(g.weight, numeric_grad(wv, r, forward_wb), 1e-6, 1e-6);
            REQUIRE_CLOSE(g.bias, numeric_grad(bv, r, forward_wb), 1e-6, 1e-6);
        }
    }
}

TEST_CASE("batch norm float32 stays accurate on large, offset channels") {
    // Mean 1000, spread 1, 64·32·32 values per channel: float sums would lose the variance.
    Tensor x = random_tensor({64, 4, 32, 32}, 20, 999.0, 1001.0);
    Tensor xf = x.to(DType::f32);
    Tensor rm = Tensor::zeros({4}), rv = Tensor::ones({4});
    kernels::BatchNormSaved saved, saved64;
    Tensor yf = kernels::batch_norm_forward(xf, nullptr, nullptr, &rm, &rv, true, 0.1, 1e-5, &saved);
    Tensor y = kernels::batch_norm_forward(xf.to(DType::f64), nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5,
                                           &saved64);
    REQUIRE_CLOSE(saved.mean.to(DType::f64), saved64.mean, 0, 1e-7);
    REQUIRE_CLOSE(saved.invstd.to(DType::f64), saved64.invstd, 0, 1e-5);
    REQUIRE_CLOSE(yf.to(DType::f64), y, 5e-3, 0);  // |x|·eps_f32·invstd ≈ 2e-4 per element
    Tensor gy = random_tensor(x.shape(), 21).to(DType::f32);
    kernels::BatchNormGrads gf = kernels::batch_norm_backward(gy, xf, nullptr, saved);
    kernels::BatchNormGrads gd = kernels::batch_norm_backward(gy.to(DType::f64), xf.to(DType::f64), nullptr, saved64);
    REQUIRE_CLOSE(gf.bias.to(DType::f64), gd.bias, 1e-2, 1e-5);
    REQUIRE_CLOSE(gf.weight.to(DType::f64), gd.weight, 1e-1, 1e-4);
    REQUIRE_CLOSE(gf.x.to(DType::f64), gd.x, 1e-5, 1e-3);
}

TEST_CASE("batch norm float32 statistics do not cancel when the mean dwarfs the spread") {
    // Mean 1e4, spread 1e-2 (ratio 1e6): a one-pass E[x²] - E[x]² in double would keep ~4
    // digits of the variance; taken about a pivot inside the data it keeps all of float32's.
    // The float64 kernel's exact two passes over the same (float32-rounded) values are the truth.
    for (double offset : {1e4, -5e3}) {  // float32 spacing there: 1e-3, 5e-4
        Tensor x = random_tensor({8, 3, 9, 7}, 22, offset - 0.01, offset + 0.01).to(DType::f32);
        kernels::BatchNormSaved saved, saved64;
        kernels::batch_norm_forward(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 0.0, &saved);
        kernels::batch_norm_forward(x.to(DType::f64), nullptr, nullptr, nullptr, nullptr, true, 0.1, 0.0, &saved64);
        REQUIRE_CLOSE(saved.mean.to(DType::f64), saved64.mean, 0, 1e-7);
        REQUIRE_CLOSE(saved.invstd.to(DType::f64), saved64.invstd, 0, 1e-6);
    }
}

TEST_CASE("batch norm fused with ReLU equals batch norm then ReLU, forward and backward, bit for bit") {
    for (Shape shape : {Shape{4, 3, 5, 7}, Shape{9, 6}}) {
        std::int64_t c = shape[1];
        Tensor x = random_tensor(shape, 61, -2, 3, DType::f32);
        Tensor w = random_tensor({c}, 62, 0.5, 1.5, DType::f32), b = random_tensor({c}, 63, -1, 1, DType::f32);
        Tensor gy = random_tensor(shape, 64, -1, 1, DType::f32);
        Tensor rm1 = Tensor::zeros({c}), rv1 = Tensor::ones({c}), rm2 = Tensor::zeros({c}), rv2 = Tensor::ones({c});
        kernels::BatchNormSaved s1, s2;
        Tensor plain = kernels::batch_norm_forward(x, &w, &b, &rm1, &rv1, true, 0.1, 1e-5, &s1);
        Tensor relu_y = kernels::unary(UnaryOp::relu, plain);
        Tensor fused = kernels::batch_norm_forward(x, &w, &b, &rm2, &rv2, true, 0.1, 1e-5, &s2, BatchNormTail{nullptr, true});
        REQUIRE(fused.to_vector() == relu_y.to_vector());
        REQUIRE(rm1.to_vector() == rm2.to_vector());
        REQUIRE(rv1.to_vector() == rv2.to_vector());
        // Some outputs are clipped, some pass: the mask matters.
        auto fv = fused.to_vector();
        REQUIRE(std::count(fv.begin(), fv.end(), 0.0) > 0);
        REQUIRE(std::count(fv.begin(), fv.end(), 0.0) < static_cast<long>(fv.size()));

        Tensor masked = kernels::binary(BinaryOp::relu_grad, gy, plain);  // relu's backward, then BN's
        auto g_plain = kernels::batch_norm_backward(masked, x, &w, s1);
        auto g_fused = kernels::batch_norm_backward(gy, x, &w, s2, &fused);
        REQUIRE(g_fused.x.to_vector() == g_plain.x.to_vector());
        REQUIRE(g_fused.weight.to_vector() == g_plain.weight.to_vector());
        REQUIRE(g_fused.bias.to_vector() == g_plain.bias.to_vector());
    }
}

TEST_CASE("batch norm fused with ReLU in evaluation mode clips the running-stat output") {
    Tensor x = random_tensor({3, 2, 4}, 71, -2, 2, DType::f32);
    Tensor rm = random_tensor({2}, 72, -0.5, 0.5, DType::f32), rv = random_tensor({2}, 73, 0.5, 2, DType::f32);
    Tensor plain = kernels::batch_norm_forward(x, nullptr, nullptr, &rm, &rv, false, 0.1, 1e-5, nullptr);
    Tensor fused = kernels::batch_norm_forward(x, nullptr, nullptr, &rm, &rv, false, 0.1, 1e-5, nullptr,
                                               BatchNormTail{nullptr, true});
    REQUIRE(fused.to_vector() == kernels::unary(UnaryOp::relu, plain).to_vector());
    Tensor r = random_tensor({3, 2, 4}, 74, -1, 1, DType::f32);
    Tensor tail = kernels::batch_norm_forward(x, nullptr, nullptr, &rm, &rv, false, 0.1, 1e-5, nullptr,
                                              BatchNormTail{&r, true});
    REQUIRE(tail.to_vector() == kernels::unary(UnaryOp::relu, kernels::binary(BinaryOp::add, plain, r)).to_vector());
}

// A ResNet block's tail, relu(bn(x) + identity), as one op: the same bits as the three ops,
// forward (output, running stats) and backward (x, weight, bias and the residual's gradient).
TEST_CASE("batch norm fused with a residual add (and ReLU) equals batch norm, add, ReLU, bit for bit") {
    for (DType dt : {DType::f32, DType::f64})
        for (bool relu : {true, false})
            for (Shape shape : {Shape{4, 3, 5, 7}, Shape{9, 6}}) {
                INFO(shape_str(shape) << " relu " << relu << " " << dtype_name(dt));
                std::int64_t c = shape[1];
                Tensor x = random_tensor(shape, 81, -2, 3, dt);
                Tensor r = random_tensor(shape, 82, -1.5, 1.5, dt);
                Tensor w = random_tensor({c}, 83, 0.5, 1.5, dt), b = random_tensor({c}, 84, -1, 1, dt);
                Tensor gy = random_tensor(shape, 85, -1, 1, dt);
                Tensor rm1 = Tensor::zeros({c}, dt), rv1 = Tensor::ones({c}, dt);
                Tensor rm2 = Tensor::zeros({c}, dt), rv2 = Tensor::ones({c}, dt);
                kernels::BatchNormSaved s1, s2;
                Tensor plain = kernels::batch_norm_forward(x, &w, &b, &rm1, &rv1, true, 0.1, 1e-5, &s1);
                Tensor sum = kernels::binary(BinaryOp::add, plain, r);
                Tensor want = relu ? kernels::unary(UnaryOp::relu, sum) : sum;
                Tensor fused = kernels::batch_norm_forward(x, &w, &b, &rm2, &rv2, true, 0.1, 1e-5, &s2,
                                                           BatchNormTail{&r, relu});
                REQUIRE(fused.to_vector() == want.to_vector());
                REQUIRE(rm1.to_vector() == rm2.to_vector());
                REQUIRE(rv1.to_vector() == rv2.to_vector());
                if (!relu) continue;  // without a ReLU the backward is batch norm's own (gy passes through)
                auto fv = fused.to_vector();
                REQUIRE(std::count(fv.begin(), fv.end(), 0.0) > 0);  // the mask matters
                REQUIRE(std::count(fv.begin(), fv.end(), 0.0) < static_cast<long>(fv.size()));

                Tensor masked = kernels::binary(BinaryOp::relu_grad, gy, sum);  // relu's backward; add passes it on
                auto g_plain = kernels::batch_norm_backward(masked, x, &w, s1);
                auto g_fused = kernels::batch_norm_backward(gy, x, &w, s2, &fused, true);
                REQUIRE(g_fused.x.to_vector() == g_plain.x.to_vector());
                REQUIRE(g_fused.weight.to_vector() == g_plain.weight.to_vector());
                REQUIRE(g_fused.bias.to_vector() == g_plain.bias.to_vector());
                REQUIRE(g_fused.relu_in.to_vector() == masked.to_vector());
                REQUIRE_FALSE(kernels::batch_norm_backward(gy, x, &w, s2, &fused).relu_in.defined());
            }
}

TEST_CASE("batch norm rejects a residual of the wrong shape, and a ReLU-input gradient without a ReLU") {
    Tensor x = random_tensor({4, 3, 5}, 91, -1, 1, DType::f32);
    Tensor r = random_tensor({4, 3, 6}, 92, -1, 1, DType::f32);
    kernels::BatchNormSaved s;
    REQUIRE_THROWS_WITH(kernels::batch_norm_forward(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &s,
                                                    BatchNormTail{&r, true}),
                        Catch::Contains("residual [4, 3, 6] must have the input's shape [4, 3, 5]"));
    kernels::batch_norm_forward(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &s);
    REQUIRE_THROWS_WITH(kernels::batch_norm_backward(x, x, nullptr, s, nullptr, true),
                        Catch::Contains("needs relu_out"));
}

// Statistics groups: one call over [a; b] with groups = 2 is what two calls, on a and then on b,
// compute: the same outputs, saved statistics and running statistics (two updates, in order),
// the same input gradients, and parameter gradients equal to the two calls' summed in T.
TEST_CASE("batch norm with statistics groups equals separate calls on the slices, bit for bit") {
    for (DType dt : {DType::f32, DType::f64})
        for (int tail_kind : {0, 1, 2})  // plain, + ReLU, + residual + ReLU
            for (Shape shape : {Shape{6, 3, 5, 7}, Shape{8, 6}}) {
                INFO(shape_str(shape) << " tail " << tail_kind << " " << dtype_name(dt));
                const std::int64_t c = shape[1], n = shape[0], half = n / 2;
                const bool relu = tail_kind > 0;
                // The halves differ in scale and offset, so per-half statistics really differ.
                Shape half_shape = shape;
                half_shape[0] = half;
                Tensor x = kernels::concat({random_tensor(half_shape, 101, -2, 3, dt),
                                            random_tensor(half_shape, 108, 2, 9, dt)}, 0);
                Tensor r = random_tensor(shape, 102, -1.5, 1.5, dt);
                Tensor w = random_tensor({c}, 103, 0.5, 1.5, dt), b = random_tensor({c}, 104, -1, 1, dt);
                Tensor gy = random_tensor(shape, 105, -1, 1, dt);
                const Tensor* res = tail_kind == 2 ? &r : nullptr;

                Tensor rm1 = random_tensor({c}, 106, -1, 1, dt), rv1 = random_tensor({c}, 107, 0.5, 2, dt);
                Tensor rm2 = rm1.clone(), rv2 = rv1.clone();
                std::vector<Tensor> ys, gxs, grs;
                std::vector<kernels::BatchNormGrads> parts;
                std::vector<double> means, invstds;
                for (std::int64_t h = 0; h < 2; ++h) {
                    Tensor xh = x.slice(0, h * half, (h + 1) * half).contiguous();
                    Tensor rh = r.slice(0, h * half, (h + 1) * half).contiguous();
                    kernels::BatchNormSaved s;
                    Tensor y = kernels::batch_norm_forward(xh, &w, &b, &rm1, &rv1, true, 0.1, 1e-5, &s,
                                                           BatchNormTail{res ? &rh : nullptr, relu});
                    auto g = kernels::batch_norm_backward(gy.slice(0, h * half, (h + 1) * half).contiguous(), xh,
                                                          &w, s, relu ? &y : nullptr, relu);
                    ys.push_back(y);
                    parts.push_back(g);
                    for (double v : s.mean.to_vector()) means.push_back(v);
                    for (double v : s.invstd.to_vector()) invstds.push_back(v);
                }
                kernels::BatchNormSaved sg;
                Tensor y = kernels::batch_norm_forward(x, &w, &b, &rm2, &rv2, true, 0.1, 1e-5, &sg,
                                                       BatchNormTail{res, relu}, 2);
                REQUIRE(y.to_vector() == kernels::concat(ys, 0).to_vector());
                REQUIRE(sg.mean.to_vector() == means);
                REQUIRE(sg.invstd.to_vector() == invstds);
                REQUIRE(rm2.to_vector() == rm1.to_vector());
                REQUIRE(rv2.to_vector() == rv1.to_vector());

                auto g = kernels::batch_norm_backward(gy, x, &w, sg, relu ? &y : nullptr, relu);
                REQUIRE(g.x.to_vector() == kernels::concat({parts[0].x, parts[1].x}, 0).to_vector());
                REQUIRE(g.weight.to_vector() == kernels::binary(BinaryOp::add, parts[0].weight, parts[1].weight).to_vector());
                REQUIRE(g.bias.to_vector() == kernels::binary(BinaryOp::add, parts[0].bias, parts[1].bias).to_vector());
                if (relu)
                    REQUIRE(g.relu_in.to_vector() ==
                            kernels::concat({parts[0].relu_in, parts[1].relu_in}, 0).to_vector());
            }
}

TEST_CASE("batch norm statistics groups must divide the batch and leave two values per group") {
    Tensor x = random_tensor({6, 3, 2}, 111, -1, 1, DType::f32);
    kernels::BatchNormSaved s;
    REQUIRE_THROWS_WITH(kernels::batch_norm_forward(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &s, {}, 4),
                        Catch::Contains("4 statistics groups must divide the batch of 6 evenly"));
    Tensor flat = random_tensor({4, 3}, 112, -1, 1, DType::f32);
    REQUIRE_THROWS_WITH(kernels::batch_norm_forward(flat, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &s, {}, 4),
                        Catch::Contains("more than one value per channel in each of 4 groups"));
}

// Small planes (S < 16: ResNet's 2x2 maps, BatchNorm1d) are walked as one span of channels per
// row with sums per position (tensor/cpu/batch_norm.cpp). Tensors past the threading grain,
// so the channels are split over threads unevenly (37 on 2 and 3), with statistics groups and
// the fused residual + ReLU: every output against the float64 reference.
TEST_CASE("batch norm on small planes matches the reference on 1 to 3 threads") {
    const int saved_threads = num_threads();
    std::uint64_t seed = 700;
    for (int threads : {1, 2, 3})
        for (Shape shape : {Shape{300, 37, 4}, Shape{1500, 33, 1}, Shape{90, 41, 9}}) {
            set_num_threads(threads);
            INFO(shape_str(shape) << ", threads " << threads);
            const std::int64_t c = shape[1], groups = 3;
            Tensor x = random_tensor(shape, seed++, 2.0, 5.0), r = random_tensor(shape, seed++);
            Tensor w = random_tensor({c}, seed++, 0.5, 1.5), b = random_tensor({c}, seed++);
            Tensor rm = random_tensor({c}, seed++), rv = random_tensor({c}, seed++, 0.5, 2.0);
            Tensor gy = random_tensor(shape, seed++);
            reference::BatchNormTrain ref =
                reference::batch_norm_forward_train(x, &w, &b, &rm, &rv, 0.1, 1e-5, groups, &r, true);
            Tensor km = rm.clone(), kv = rv.clone();
            kernels::BatchNormSaved saved;
            Tensor y = kernels::batch_norm_forward(x, &w, &b, &km, &kv, true, 0.1, 1e-5, &saved, BatchNormTail{&r, true},
                                                   groups);
            REQUIRE_CLOSE(y, ref.y, 1e-12, 1e-12);
            REQUIRE_CLOSE(saved.mean.reshape({groups, c}), ref.save_mean, 1e-12, 1e-12);
            REQUIRE_CLOSE(saved.invstd.reshape({groups, c}), ref.save_invstd, 1e-12, 1e-12);
            REQUIRE_CLOSE(km, ref.running_mean, 1e-12, 1e-12);
            REQUIRE_CLOSE(kv, ref.running_var, 1e-12, 1e-12);
            kernels::BatchNormGrads g = kernels::batch_norm_backward(gy, x, &w, saved, &y, true);
            reference::BatchNormGrads rg =
                reference::batch_norm_backward(gy, x, &w, ref.save_mean, ref.save_invstd, groups, &ref.y);
            REQUIRE_CLOSE(g.x, rg.x, 1e-10, 1e-9);
            REQUIRE_CLOSE(g.weight, rg.weight, 1e-10, 1e-9);
            REQUIRE_CLOSE(g.bias, rg.bias, 1e-10, 1e-9);
            REQUIRE_CLOSE(g.relu_in, rg.relu_in, 0, 0);
            REQUIRE_CLOSE(kernels::batch_norm_forward(x, &w, &b, &rm, &rv, false, 0.1, 1e-5, nullptr),
                          reference::batch_norm_forward_eval(x, &w, &b, rm, rv, 1e-5), 1e-12, 1e-12);

            // float32: sums still in double about a pivot; values rounded to float.
            Tensor xf = x.to(DType::f32), gyf = gy.to(DType::f32);
            kernels::BatchNormSaved savedf;
            Tensor yf = kernels::batch_norm_forward(xf, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &savedf, {},
                                                    groups);
            reference::BatchNormTrain reff =
                reference::batch_norm_forward_train(xf.to(DType::f64), nullptr, nullptr, nullptr, nullptr, 0.1, 1e-5, groups);
            REQUIRE_CLOSE(yf.to(DType::f64), reff.y, 1e-5, 1e-5);
            kernels::BatchNormGrads gf = kernels::batch_norm_backward(gyf, xf, nullptr, savedf);
            reference::BatchNormGrads rgf = reference::batch_norm_backward(gyf.to(DType::f64), xf.to(DType::f64), nullptr,
                                                                           reff.save_mean, reff.save_invstd, groups);
            REQUIRE_CLOSE(gf.x.to(DType::f64), rgf.x, 1e-5, 1e-4);
            REQUIRE_CLOSE(gf.bias.to(DType::f64), rgf.bias, 1e-4, 1e-5);
        }
    set_num_threads(saved_threads);
}
