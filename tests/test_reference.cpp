// Every fast CPU kernel against its plain reference (tensor/reference/reference.h) on random
// shapes: odd sizes, strides, padding, dilation, groups, broadcasting, non-contiguous inputs.
// The shapes come from a seeded generator, so a failure names a case that reruns identically.
// float64 runs must agree to rounding (the kernels sum in another order than the references);
// float32 runs to float32's precision.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "autograd/functional.h"
#include "tensor/ops.h"
#include "tensor/reference/reference.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::random_tensor;

namespace {

// Seeded integers in [lo, hi] for the shapes of one test case.
class Dice {
public:
    explicit Dice(std::uint64_t seed) : rng_(seed) {}
    std::int64_t operator()(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    }
    bool coin() { return (*this)(0, 1) == 1; }

private:
    std::mt19937_64 rng_;
};

std::int64_t conv_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// float64 kernels vs float64 references: only the summation order differs.
constexpr double kAtol64 = 1e-12, kRtol64 = 1e-10;

// All three conv passes in float64 against the references, then float32 (forward and
// backward-filter; backward-data too when asked) against the references on the rounded inputs.
void require_conv_matches_reference(const Tensor& x, const Tensor& w, const Tensor& gy, const Conv2dParams& p,
                                    bool float32_backward_data) {
    const Shape &xs = x.shape(), &ws = w.shape();
    REQUIRE_CLOSE(kernels::conv2d_forward(x, w, p), reference::conv2d_forward(x, w, p), kAtol64, kRtol64);
    REQUIRE_CLOSE(kernels::conv2d_backward_data(gy, w, xs, p), reference::conv2d_backward_data(gy, w, xs, p),
                  kAtol64, kRtol64);
    REQUIRE_CLOSE(kernels::conv2d_backward_filter(x, gy, ws, p), reference::conv2d_backward_filter(x, gy, ws, p),
                  kAtol64, kRtol64);
    Tensor xf = x.to(DType::f32), wf = w.to(DType::f32), gyf = gy.to(DType::f32);
    REQUIRE_CLOSE(kernels::conv2d_forward(xf, wf, p).to(DType::f64), reference::conv2d_forward(xf, wf, p), 1e-5,
                  1e-4);
    if (float32_backward_data)
        REQUIRE_CLOSE(kernels::conv2d_backward_data(gyf, wf, xs, p).to(DType::f64),
                      reference::conv2d_backward_data(gyf, wf, xs, p), 1e-5, 1e-4);
    REQUIRE_CLOSE(kernels::conv2d_backward_filter(xf, gyf, ws, p).to(DType::f64),
                  reference::conv2d_backward_filter(xf, gyf, ws, p), 1e-4, 1e-4);
}

}  // namespace

TEST_CASE("conv2d kernels (im2col + GEMM and direct) match the reference on random shapes") {
    Dice dice(20261130);
    std::uint64_t seed = 1;
    int direct_cases = 0;
    for (int trial = 0; trial < 60; ++trial) {
        // Every fourth case has the direct path's shape: groups 1, stride 1, no dilation, <= 8
        // outputs on a plane of >= 1024 pixels (tensor/cpu/conv.cpp, use_direct).
        const bool direct = trial % 4 == 3;
        Conv2dParams p;
        const std::int64_t groups = direct ? 1 : dice(1, 3);
        const std::int64_t Cg = dice(1, 3), Og = direct ? dice(1, 8) : dice(1, 3), N = dice(1, direct ? 2 : 5);
        const std::int64_t KH = dice(1, 5), KW = dice(1, 5);
        p.groups = groups;
        if (!direct) {
            p.stride_h = dice(1, 3), p.stride_w = dice(1, 3), p.dil_h = dice(1, 2), p.dil_w = dice(1, 2);
        }
        p.pad_h = dice(0, 3), p.pad_w = dice(0, 3);
        // Direct cases: OH, OW >= 36 - 5 + 1 = 32, so the plane has >= 1024 pixels.
        const std::int64_t H = direct ? dice(36, 45) : dice(1, 13), W = direct ? dice(36, 45) : dice(1, 13);
        if (conv_out(H, KH, p.stride_h, p.pad_h, p.dil_h) < 1 || conv_out(W, KW, p.stride_w, p.pad_w, p.dil_w) < 1)
            continue;  // the kernel window does not fit: the front-end refuses it
        direct_cases += direct;
        const Shape xs{N, groups * Cg, H, W}, ws{groups * Og, Cg, KH, KW};
        INFO("trial " << trial << ": x " << shape_str(xs) << " w " << shape_str(ws) << " stride " << p.stride_h
                      << "x" << p.stride_w << " pad " << p.pad_h << "x" << p.pad_w << " dil " << p.dil_h << "x"
                      << p.dil_w << " groups " << groups);
        Tensor x = random_tensor(xs, seed++), w = random_tensor(ws, seed++);
        Tensor gy = random_tensor(kernels::conv2d_forward(x, w, p).shape(), seed++);
        // float32: Eigen's float GEMM and the direct loops sum in float.
        require_conv_matches_reference(x, w, gy, p, false);
    }
    REQUIRE(direct_cases >= 10);
}

TEST_CASE("conv2d Winograd path (3x3, stride 1, >= 16 channels) matches the reference on random shapes") {
    Dice dice(20261201);
    std::uint64_t seed = 5000;
    for (int trial = 0; trial < 12; ++trial) {
        Conv2dParams p;
        p.pad_h = dice(0, 2), p.pad_w = dice(0, 2);
        const std::int64_t N = dice(1, 3), C = dice(16, 20), O = dice(16, 20);
        const std::int64_t H = dice(std::max<std::int64_t>(1, 3 - 2 * p.pad_h), 11);
        const std::int64_t W = dice(std::max<std::int64_t>(1, 3 - 2 * p.pad_w), 11);
        const Shape xs{N, C, H, W}, ws{O, C, 3, 3};
        INFO("trial " << trial << ": x " << shape_str(xs) << " w " << shape_str(ws) << " pad " << p.pad_h << "x"
                      << p.pad_w);
        Tensor x = random_tensor(xs, seed++), w = random_tensor(ws, seed++);
        Tensor gy = random_tensor(kernels::conv2d_forward(x, w, p).shape(), seed++);
        // float32: the transforms add and halve in float; the error stays at the GEMM's level.
        require_conv_matches_reference(x, w, gy, p, true);
    }
}

TEST_CASE("conv2d on a non-contiguous input matches the reference reading the same view") {
    // The reference reads x through its strides; the front-end makes it contiguous first.
    Tensor base = random_tensor({2, 9, 7, 3}, 5);
    Tensor x = base.permute({0, 3, 2, 1});  // [2, 3, 7, 9], strided
    REQUIRE_FALSE(x.is_contiguous());
    Tensor w = random_tensor({4, 3, 3, 2}, 6);
    Conv2dParams p;
    p.stride_w = 2, p.pad_h = 1;
    REQUIRE_CLOSE(kernels::conv2d_forward(x, w, p), reference::conv2d_forward(x, w, p), kAtol64, kRtol64);
}

TEST_CASE("pooling and upsampling kernels match the reference on random shapes") {
    Dice dice(7);
    std::uint64_t seed = 100;
    for (int trial = 0; trial < 60; ++trial) {
        Pool2dParams p;
        p.kernel_h = dice(1, 4), p.kernel_w = dice(1, 4), p.stride_h = dice(1, 3), p.stride_w = dice(1, 3);
        p.pad_h = dice(0, p.kernel_h / 2), p.pad_w = dice(0, p.kernel_w / 2);  // PyTorch: pad <= kernel / 2
        p.count_include_pad = dice.coin();
        const Shape xs{dice(1, 3), dice(1, 3), dice(p.kernel_h, 12), dice(p.kernel_w, 12)};
        INFO("trial " << trial << ": x " << shape_str(xs) << " kernel " << p.kernel_h << "x" << p.kernel_w
                      << " stride " << p.stride_h << "x" << p.stride_w << " pad " << p.pad_h << "x" << p.pad_w
                      << (p.count_include_pad ? " counting padding" : ""));
        Tensor x = random_tensor(xs, seed++);

        auto [y, idx] = kernels::max_pool2d_forward(x, p);
        auto [ry, ridx] = reference::max_pool2d_forward(x, p);
        REQUIRE_CLOSE(y, ry, 0, 0);  // a max is exact
        REQUIRE(idx.to_int_vector() == ridx.to_int_vector());
        Tensor gy = random_tensor(y.shape(), seed++);
        REQUIRE_CLOSE(kernels::max_pool2d_backward(gy, idx, xs), reference::max_pool2d_backward(gy, idx, xs),
                      kAtol64, kRtol64);

        Tensor ya = kernels::avg_pool2d_forward(x, p);
        REQUIRE_CLOSE(ya, reference::avg_pool2d_forward(x, p), kAtol64, kRtol64);
        REQUIRE_CLOSE(kernels::avg_pool2d_backward(gy, xs, p), reference::avg_pool2d_backward(gy, xs, p), kAtol64,
                      kRtol64);

        // Adaptive bins, including more bins than pixels (overlapping, repeated pixels).
        const std::int64_t oh = dice(1, xs[2] + 2), ow = dice(1, xs[3] + 2);
        INFO("adaptive to " << oh << "x" << ow);
        REQUIRE_CLOSE(kernels::adaptive_avg_pool2d_forward(x, oh, ow),
                      reference::adaptive_avg_pool2d_forward(x, oh, ow), kAtol64, kRtol64);
        Tensor gya = random_tensor({xs[0], xs[1], oh, ow}, seed++);
        REQUIRE_CLOSE(kernels::adaptive_avg_pool2d_backward(gya, xs), reference::adaptive_avg_pool2d_backward(gya, xs),
                      kAtol64, kRtol64);

        const std::int64_t s = dice(1, 3);
        INFO("upsample x" << s);
        REQUIRE_CLOSE(kernels::upsample_nearest2d_forward(x, s), reference::upsample_nearest2d_forward(x, s), 0, 0);
        Tensor gyu = random_tensor({xs[0], xs[1], xs[2] * s, xs[3] * s}, seed++);
        REQUIRE_CLOSE(kernels::upsample_nearest2d_backward(gyu, xs), reference::upsample_nearest2d_backward(gyu, xs),
                      kAtol64, kRtol64);
    }
}

TEST_CASE("batch norm kernels match the reference on random shapes, groups and fused tails") {
    Dice dice(99);
    std::uint64_t seed = 200;
    for (int trial = 0; trial < 40; ++trial) {
        const std::int64_t groups = dice(1, 3), C = dice(1, 5), S = dice(1, 23);
        const std::int64_t N = groups * dice(1, 3);
        const bool affine = dice.coin(), residual = dice.coin(), relu = dice.coin();
        if (N / groups * S < 2) continue;  // the unbiased variance needs two values per group
        const Shape xs{N, C, S};
        INFO("trial " << trial << ": x " << shape_str(xs) << " groups " << groups << (affine ? " affine" : "")
                      << (residual ? " +residual" : "") << (relu ? " +relu" : ""));
        // Offset channels: the two-pass variance must not lose digits to a large mean.
        Tensor x = random_tensor(xs, seed++, 2.0, 5.0);
        Tensor w = random_tensor({C}, seed++, 0.5, 1.5), b = random_tensor({C}, seed++);
        Tensor r = random_tensor(xs, seed++);
        Tensor rm = random_tensor({C}, seed++), rv = random_tensor({C}, seed++, 0.5, 2.0);
        const Tensor* pw = affine ? &w : nullptr;
        const Tensor* pb = affine ? &b : nullptr;
        BatchNormTail tail{residual ? &r : nullptr, relu};

        reference::BatchNormTrain ref = reference::batch_norm_forward_train(x, pw, pb, &rm, &rv, 0.1, 1e-5, groups,
                                                                            tail.residual, relu);
        Tensor km = rm.clone(), kv = rv.clone();
        kernels::BatchNormSaved saved;
        Tensor y = kernels::batch_norm_forward(x, pw, pb, &km, &kv, true, 0.1, 1e-5, &saved, tail, groups);
        REQUIRE_CLOSE(y, ref.y, kAtol64, kRtol64);
        REQUIRE_CLOSE(saved.mean.reshape({groups, C}), ref.save_mean, kAtol64, kRtol64);
        REQUIRE_CLOSE(saved.invstd.reshape({groups, C}), ref.save_invstd, kAtol64, kRtol64);
        REQUIRE_CLOSE(km, ref.running_mean, kAtol64, kRtol64);
        REQUIRE_CLOSE(kv, ref.running_var, kAtol64, kRtol64);

        Tensor gy = random_tensor(xs, seed++);
        kernels::BatchNormGrads g = kernels::batch_norm_backward(gy, x, pw, saved, relu ? &y : nullptr, relu);
        reference::BatchNormGrads rg = reference::batch_norm_backward(gy, x, pw, ref.save_mean, ref.save_invstd, groups,
                                                                      relu ? &ref.y : nullptr);
        REQUIRE_CLOSE(g.x, rg.x, 1e-10, 1e-9);
        if (affine) {
            REQUIRE_CLOSE(g.weight, rg.weight, 1e-10, 1e-9);
            REQUIRE_CLOSE(g.bias, rg.bias, 1e-10, 1e-9);
        }
        if (relu) REQUIRE_CLOSE(g.relu_in, rg.relu_in, 0, 0);

        Tensor ye = kernels::batch_norm_forward(x, pw, pb, &rm, &rv, false, 0.1, 1e-5, nullptr);
        REQUIRE_CLOSE(ye, reference::batch_norm_forward_eval(x, pw, pb, rm, rv, 1e-5), kAtol64, kRtol64);

        // float32: statistics still summed in double, the normalised values rounded to float.
        Tensor xf = x.to(DType::f32);
        kernels::BatchNormSaved savedf;
        Tensor yf = kernels::batch_norm_forward(xf, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5, &savedf, {},
                                                groups);
        REQUIRE_CLOSE(yf.to(DType::f64),
                      reference::batch_norm_forward_train(xf, nullptr, nullptr, nullptr, nullptr, 0.1, 1e-5, groups).y,
                      1e-5, 1e-5);
    }
}

TEST_CASE("matmul matches the reference on random shapes, transposes, broadcast batches and accumulation") {
    Dice dice(3);
    std::uint64_t seed = 300;
    for (int trial = 0; trial < 40; ++trial) {
        const std::int64_t B = dice(1, 4), M = dice(1, 17), N = dice(1, 17), K = dice(1, 17);
        const bool ta = dice.coin(), tb = dice.coin();
        // One operand's batch may be 1 (broadcast over the other's).
        const std::int64_t Ba = dice(0, 2) == 0 ? 1 : B, Bb = dice(0, 2) == 0 ? 1 : B;
        const Shape as = ta ? Shape{Ba, K, M} : Shape{Ba, M, K}, bs = tb ? Shape{Bb, N, K} : Shape{Bb, K, N};
        INFO("trial " << trial << ": a " << shape_str(as) << (ta ? "^T" : "") << " b " << shape_str(bs)
                      << (tb ? "^T" : ""));
        Tensor a = random_tensor(as, seed++), b = random_tensor(bs, seed++);
        Tensor ref = reference::matmul(a, b, ta, tb);
        // The kernel itself (the front-end's matmul broadcasts leading dims NumPy-style).
        const std::int64_t batch = std::max(Ba, Bb);
        Tensor out = Tensor::empty({batch, M, N}, DType::f64);
        a.backend().matmul(a, b, out, ta, tb, false);
        REQUIRE_CLOSE(out, ref, kAtol64, kRtol64);
        // accumulate: out += a @ b.
        Tensor before = random_tensor({batch, M, N}, seed++);
        Tensor acc = before.clone();
        a.backend().matmul(a, b, acc, ta, tb, true);
        REQUIRE_CLOSE(acc, reference::binary(BinaryOp::add, before, ref), kAtol64, kRtol64);
        // float32 through the front-end.
        Tensor af = a.to(DType::f32), bf = b.to(DType::f32);
        REQUIRE_CLOSE(kernels::matmul(af, bf, ta, tb).to(DType::f64), reference::matmul(af, bf, ta, tb), 1e-5, 1e-4);
    }
    // Large enough for Eigen's own threading (> 4M multiply-adds in one product).
    Tensor a = random_tensor({1, 130, 257}, 1), b = random_tensor({1, 257, 129}, 2);
    REQUIRE_CLOSE(kernels::matmul(a, b), reference::matmul(a, b), kAtol64, kRtol64);
}

TEST_CASE("row reductions match the reference") {
    Dice dice(11);
    for (int trial = 0; trial < 20; ++trial) {
        const Shape xs{dice(1, 9), dice(1, 70000 / (trial + 1))};  // long rows cross the threading grain
        INFO("x " << shape_str(xs));
        Tensor x = random_tensor(xs, 400 + trial);
        REQUIRE_CLOSE(kernels::sum(x, {1}), reference::sum_rows(x), 1e-11, kRtol64);
        auto [m, arg] = kernels::max(x, 1);
        auto [rm, rarg] = reference::max_rows(x);
        REQUIRE_CLOSE(m, rm, 0, 0);
        REQUIRE(arg.to_int_vector() == rarg.to_int_vector());
        Tensor xf = x.to(DType::f32);  // float sums accumulate in double
        REQUIRE_CLOSE(kernels::sum(xf, {1}).to(DType::f64), reference::sum_rows(xf), 1e-5, 1e-6);
    }
}

TEST_CASE("elementwise kernels match the reference, with broadcasting and strided views") {
    Dice dice(17);
    const UnaryOp unaries[] = {UnaryOp::neg,        UnaryOp::exp,        UnaryOp::log,        UnaryOp::sqrt,
                               UnaryOp::rsqrt,      UnaryOp::abs,        UnaryOp::tanh,       UnaryOp::sigmoid,
                               UnaryOp::relu,       UnaryOp::leaky_relu, UnaryOp::pow_scalar, UnaryOp::add_scalar,
                               UnaryOp::mul_scalar, UnaryOp::sign,       UnaryOp::square,     UnaryOp::reciprocal};
    const BinaryOp binaries[] = {BinaryOp::add, BinaryOp::sub,     BinaryOp::mul,  BinaryOp::div,
                                 BinaryOp::maximum, BinaryOp::minimum, BinaryOp::eq, BinaryOp::ne,
                                 BinaryOp::lt,  BinaryOp::le,      BinaryOp::gt,   BinaryOp::ge,
                                 BinaryOp::relu_grad, BinaryOp::leaky_relu_grad};
    std::uint64_t seed = 500;
    for (UnaryOp op : unaries) {
        INFO("unary " << unary_name(op));
        const bool positive = op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt ||
                              op == UnaryOp::pow_scalar || op == UnaryOp::reciprocal;
        // Big enough for the threaded loop; the domain kept where the op is finite.
        Tensor x = random_tensor({3, 20001}, seed++, positive ? 0.1 : -3.0, 3.0);
        REQUIRE_CLOSE(kernels::unary(op, x, 0.3), reference::unary(op, x, 0.3), 1e-14, 1e-14);
        Tensor xf = x.to(DType::f32);
        REQUIRE_CLOSE(kernels::unary(op, xf, 0.3).to(DType::f64), reference::unary(op, xf, 0.3), 1e-6, 1e-6);
    }
    for (int trial = 0; trial < 30; ++trial) {
        // Random shapes of rank 1-4 with dims of 1 that broadcast against the other operand.
        const std::int64_t rank = dice(1, 4);
        Shape as, bs;
        for (std::int64_t d = 0; d < rank; ++d) {
            const std::int64_t n = dice(1, 7);
            as.push_back(dice(0, 2) == 0 ? 1 : n);
            bs.push_back(dice(0, 2) == 0 ? 1 : n);
        }
        if (dice.coin()) bs.erase(bs.begin());  // lower rank: missing leading dims broadcast too
        // Small integers, so the comparison ops see ties.
        std::vector<double> va = random_tensor(as, seed++, -3, 3).to_vector();
        std::vector<double> vb = random_tensor(bs, seed++, -3, 3).to_vector();
        for (double& v : va) v = std::round(v);
        for (double& v : vb) v = v > 0 ? std::round(v) : v;  // ties for some, and fractions
        Tensor a = Tensor::from_vector(va, as, DType::f64), b = Tensor::from_vector(vb, bs, DType::f64);
        if (dice.coin() && as.size() >= 2) a = a.transpose(0, 1).contiguous().transpose(0, 1);  // strided a
        INFO("a " << shape_str(as) << " b " << shape_str(bs));
        for (BinaryOp op : binaries) {
            INFO("binary " << binary_name(op));
            if (op == BinaryOp::div) continue;  // below, away from zero
            REQUIRE_CLOSE(kernels::binary(op, a, b, 0.25), reference::binary(op, a, b, 0.25), 0, 0);
        }
        Tensor bnz = random_tensor(bs, seed++, 0.5, 2.0);
        REQUIRE_CLOSE(kernels::binary(BinaryOp::div, a, bnz), reference::binary(BinaryOp::div, a, bnz), 0, 0);
    }
}

TEST_CASE("softmax, log-softmax and cross-entropy (forward and gradient) match the reference") {
    Dice dice(23);
    for (int trial = 0; trial < 20; ++trial) {
        const std::int64_t rows = dice(1, 9), n = dice(1, 40);
        INFO("logits [" << rows << ", " << n << "]");
        // Large logits: the max shift must keep exp finite.
        Tensor x = random_tensor({rows, n}, 600 + trial, -50, 50);
        REQUIRE_CLOSE(softmax(x, 1), reference::softmax_rows(x), 1e-15, 1e-12);
        REQUIRE_CLOSE(log_softmax(x, 1), reference::log_softmax_rows(x), 1e-12, 1e-12);
        std::vector<std::int64_t> t;
        for (std::int64_t r = 0; r < rows; ++r) t.push_back(dice(0, n - 1));
        Tensor targets = Tensor::from_vector(t, {rows});
        Tensor logits = x.clone().set_requires_grad(true);
        Tensor loss = cross_entropy(logits, targets);
        backward(loss);
        auto [ref_loss, ref_grad] = reference::cross_entropy(x, targets);
        REQUIRE_CLOSE(loss, ref_loss, 1e-12, 1e-12);
        REQUIRE_CLOSE(logits.grad(), ref_grad, 1e-15, 1e-10);
    }
}

TEST_CASE("the fused and the composed Adam step match the reference") {
    Tensor p = random_tensor({3, 4001}, 1), g = random_tensor({3, 4001}, 2);
    Tensor m = random_tensor({3, 4001}, 3, -0.1, 0.1), v = random_tensor({3, 4001}, 4, 0.0, 0.1);
    const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, c1 = 1 - 0.9 * 0.9, c2 = 1 - 0.999 * 0.999;
    reference::AdamState ref = reference::adam_step(p, g, m, v, lr, b1, b2, eps, c1, c2);
    for (bool fused : {true, false}) {
        INFO((fused ? "fused" : "composed (Backend's default)"));
        Tensor pp = p.clone(), mm = m.clone(), vv = v.clone();
        Backend& be = p.backend();
        if (fused) be.adam_step(pp, g, mm, vv, lr, b1, b2, eps, c1, c2);
        else be.Backend::adam_step(pp, g, mm, vv, lr, b1, b2, eps, c1, c2);
        REQUIRE_CLOSE(pp, ref.param, 1e-15, 1e-12);
        REQUIRE_CLOSE(mm, ref.m, 1e-15, 1e-12);
        REQUIRE_CLOSE(vv, ref.v, 1e-15, 1e-12);
    }
}
