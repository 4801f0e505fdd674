// Central-difference gradient checks (float64) for every differentiable op, including
// broadcasting, non-contiguous inputs and kinks.
#include <catch2/catch.hpp>

#include "autograd/functional.h"
#include "autograd/gradcheck.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace dcodr;
using dcodr::testing::random_tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

static Tensor param(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1) {
    Tensor t = random_tensor(s, seed, lo, hi);
    t.set_requires_grad(true);
    return t;
}
static void check(const Fn& f, std::vector<Tensor> in, GradcheckOptions o = {}) {
    std::string msg = gradcheck(f, std::move(in), o);
    INFO(msg);
    REQUIRE(msg.empty());
}

TEST_CASE("gradcheck: binary ops with broadcasting") {
    Tensor a = param({2, 3, 4}, 1), b = param({3, 1}, 2), c = param({4}, 3, 0.5, 2.0);
    check([](auto& v) { return add(v[0], v[1]); }, {a, b});
    check([](auto& v) { return sub(v[0], v[1]); }, {a, b});
    check([](auto& v) { return mul(v[0], v[1]); }, {a, b});
    check([](auto& v) { return div(v[0], v[1]); }, {a, c});
    check([](auto& v) { return maximum(v[0], v[1]); }, {a, b});
    check([](auto& v) { return minimum(v[0], v[1]); }, {a, b});
}

TEST_CASE("gradcheck: unary ops") {
    Tensor x = param({3, 5}, 4);
    Tensor pos = param({3, 5}, 5, 0.2, 2.0);
    check([](auto& v) { return exp(v[0]); }, {x});
    check([](auto& v) { return log(v[0]); }, {pos});
    check([](auto& v) { return sqrt(v[0]); }, {pos});
    check([](auto& v) { return rsqrt(v[0]); }, {pos});
    check([](auto& v) { return abs(v[0]); }, {x});
    check([](auto& v) { return square(v[0]); }, {x});
    check([](auto& v) { return tanh(v[0]); }, {x});
    check([](auto& v) { return sigmoid(v[0]); }, {x});
    check([](auto& v) { return relu(v[0]); }, {x});
    check([](auto& v) { return leaky_relu(v[0], 0.01); }, {x});
    check([](auto& v) { return pow(v[0], 2.5); }, {pos});
    check([](auto& v) { return mul_scalar(add_scalar(v[0], 2.0), -3.0); }, {x});
    check([](auto& v) { return neg(v[0]); }, {x});
}

TEST_CASE("kinks: relu and abs at exactly 0 take gradient 0, leaky relu takes the slope") {
    Tensor x = Tensor::from_vector(std::vector<double>{-1, 0, 1}, {3}, DType::f64);
    x.set_requires_grad(true);
    backward(sum(relu(x)));
    REQUIRE(x.grad().to_vector() == std::vector<double>{0, 0, 1});
    x.zero_grad();
    backward(sum(abs(x)));
    REQUIRE(x.grad().to_vector() == std::vector<double>{-1, 0, 1});
    x.zero_grad();
    backward(sum(leaky_relu(x, 0.1)));
    REQUIRE(x.grad().to_vector() == std::vector<double>{0.1, 0.1, 1});
}

TEST_CASE("gradcheck: non-contiguous inputs") {
    Tensor base = param({4, 6}, 6);
    Tensor t = base.transpose(0, 1);  // strided leaf view
    t.set_requires_grad(true);
    Tensor w = param({4, 3}, 7);
    check([](auto& v) { return matmul(v[0], v[1]); }, {t, w});
    Tensor s = param({5, 8}, 8).slice(1, 1, 8, 2);
    s.set_requires_grad(true);
    check([](auto& v) { return exp(v[0]); }, {s});
}

TEST_CASE("gradcheck: reductions") {
    Tensor x = param({3, 4, 5}, 9);
    check([](auto& v) { return sum(v[0]); }, {x});
    check([](auto& v) { return sum(v[0], {0, 2}); }, {x});
    check([](auto& v) { return mean(v[0], {1}, true); }, {x});
    check([](auto& v) { return var(v[0], {2}); }, {x});
    check([](auto& v) { return var(v[0], {0, 1}, false); }, {x});
    check([](auto& v) { return max(v[0], 1).first; }, {x});
}

TEST_CASE("gradcheck: matmul, batched and transposed") {
    Tensor a = param({2, 3, 4}, 10), b = param({2, 4, 5}, 11), b2 = param({4, 5}, 12), bt = param({2, 5, 4}, 13);
    check([](auto& v) { return matmul(v[0], v[1]); }, {a, b});
    check([](auto& v) { return matmul(v[0], v[1]); }, {a, b2});
    check([](auto& v) { return matmul(v[0], v[1], false, true); }, {a, bt});
    Tensor at = param({2, 4, 3}, 14);
    check([](auto& v) { return matmul(v[0], v[1], true, false); }, {at, b});
    check([](auto& v) { return matmul(v[0], v[1], true, true); }, {at, bt});
}

TEST_CASE("gradcheck: shape ops") {
    Tensor x = param({2, 3, 4}, 15);
    check([](auto& v) { return reshape(v[0], {6, 4}); }, {x});
    check([](auto& v) { return permute(v[0], {2, 0, 1}); }, {x});
    check([](auto& v) { return transpose(v[0], 0, 2); }, {x});
    check([](auto& v) { return slice(v[0], 2, 1, 4, 2); }, {x});
    check([](auto& v) { return select(v[0], 1, 2); }, {x});
    check([](auto& v) { return expand(v[0].defined() ? slice(v[0], 0, 0, 1) : v[0], {5, 3, 4}); }, {x});
    Tensor y = param({2, 2, 4}, 16);
    check([](auto& v) { return concat({v[0], v[1]}, 1); }, {x, y});
    check([](auto& v) { return stack({v[0], v[0]}, 0); }, {x});
    check([](auto& v) {
        auto parts = split(v[0], 2, 2);
        return mul(parts[0], parts[1]);
    }, {x});
    check([](auto& v) { return flatten(v[0], 1); }, {x});
    check([](auto& v) { return squeeze(unsqueeze(v[0], 1), 1); }, {x});
    check([](auto& v) { return unsqueeze(v[0], 3); }, {x});
    // contiguous of a dense tensor (the same tensor) and of a transposed view (a copy).
    check([](auto& v) { return mul(contiguous(v[0]), v[0]); }, {x});
    check([](auto& v) { return contiguous(transpose(v[0], 0, 2)); }, {x});
    Tensor mask = Tensor::from_vector(std::vector<double>{1, 0, 0, 1}, {4}, DType::f64);
    check([mask](auto& v) { return masked_fill(v[0], mask, 0.5); }, {x});
    Tensor img = param({2, 3, 3, 4}, 37);
    check([](auto& v) {
        auto [m, var] = instance_norm_stats(v[0]);
        return add(m, var);
    }, {img});
}

TEST_CASE("contiguous on a dense tensor keeps its gradient; an op returning its input is refused") {
    Tensor x = param({3, 2}, 38);
    Tensor y = mul_scalar(x, 2.0);
    Tensor z = contiguous(y);
    backward(sum(z));
    REQUIRE(x.grad().defined());
    REQUIRE(x.grad().to_vector() == std::vector<double>(6, 2.0));
    Tensor w = param({2}, 39);
    REQUIRE_THROWS_WITH(record("bad", w, {w}, [](const Tensor& g) { return GradList{g}; }),
                        Catch::Contains("returned its own input"));
}

TEST_CASE("gradcheck: indexing") {
    Tensor x = param({5, 3}, 17);
    Tensor idx = Tensor::from_vector(std::vector<std::int64_t>{4, 0, 4, 2}, {4});
    check([idx](auto& v) { return index_select(v[0], 0, idx); }, {x});
    Tensor gidx = Tensor::from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 0, 0, 2, 2, 1, 0}, {5, 2});
    check([gidx](auto& v) { return gather(v[0], 1, gidx); }, {x});
    Tensor src = param({5, 2}, 18);
    check([gidx](auto& v) { return scatter_add(v[0], 1, gidx, {5, 3}); }, {src});
    Tensor c = Tensor::from_vector(std::vector<double>{1, 0, 1}, {3}, DType::f64);
    Tensor o = param({5, 3}, 19);
    check([c](auto& v) { return where(c, v[0], v[1]); }, {x, o});
}

TEST_CASE("gradcheck: composites") {
    Tensor x = param({4, 5}, 20, -3, 3), w = param({3, 5}, 21), b = param({3}, 22);
    check([](auto& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
    check([](auto& v) { return logsumexp(v[0], 1); }, {x});
    check([](auto& v) { return softmax(v[0], 0); }, {x});
    check([](auto& v) { return log_softmax(v[0], 1); }, {x});
    Tensor t = Tensor::from_vector(std::vector<std::int64_t>{0, 4, 2, 2}, {4});
    check([t](auto& v) { return cross_entropy(v[0], t); }, {x});
    check([](auto& v) { return l2_normalize(v[0], 1); }, {x});
    Tensor y = param({4, 5}, 23);
    check([](auto& v) { return l1_loss(v[0], v[1]); }, {x, y});
    check([](auto& v) { return mse_loss(v[0], v[1]); }, {x, y});
    Tensor img = param({2, 3, 4, 4}, 24), sc = param({2, 3}, 25), sh = param({2, 3}, 26);
    check([](auto& v) { return adain(v[0], v[1], v[2]); }, {img, sc, sh});
}

TEST_CASE("gradcheck: convolution, pooling, upsampling, batch norm") {
    Tensor x = param({2, 4, 7, 6}, 30), w = param({6, 2, 3, 3}, 31), b = param({6}, 32);
    Conv2dParams p{2, 1, 1, 2, 1, 2, 2};  // stride (2,1), pad (1,2), dilation (1,2), groups 2
    check([p](auto& v) { return conv2d(v[0], v[1], v[2], p); }, {x, w, b});
    Pool2dParams mp{3, 3, 2, 2, 1, 1, true};
    check([mp](auto& v) { return max_pool2d(v[0], mp); }, {x});
    Pool2dParams ap{2, 3, 2, 1, 1, 1, false};
    check([ap](auto& v) { return avg_pool2d(v[0], ap); }, {x});
    check([](auto& v) { return adaptive_avg_pool2d(v[0], 3, 4); }, {x});
    check([](auto& v) { return upsample_nearest2d(v[0], 2); }, {x});
    Tensor g = param({4}, 33, 0.5, 1.5), bb = param({4}, 34);
    Tensor rm = Tensor::zeros({4}, DType::f64), rv = Tensor::ones({4}, DType::f64);
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true); }, {x, g, bb});
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, false); }, {x, g, bb});
    Tensor flat = param({5, 4}, 35);  // BatchNorm1d layout
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true); }, {flat, g, bb});
    // Fused with ReLU (training: one kernel each way; eval: composite + relu). Random data keeps
    // the normalised values away from the kink at 0.
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true, 0.1, 1e-5, true); }, {x, g, bb});
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, false, 0.1, 1e-5, true); }, {x, g, bb});
    // A ResNet block's tail: relu(bn(x) + residual) and bn(x) + residual, gradients to all four.
    Tensor r = param({2, 4, 7, 6}, 36);
    for (bool training : {true, false})
        for (bool relu : {true, false})
            check([rm, rv, training, relu](auto& v) {
                return batch_norm(v[0], v[1], v[2], rm, rv, training, 0.1, 1e-5, relu, v[3]);
            }, {x, g, bb, r});
    // Statistics per half of the batch (one pass over two views), with and without the tail.
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true, 0.1, 1e-5, false, Tensor(), 2); },
          {x, g, bb});
    check([rm, rv](auto& v) { return batch_norm(v[0], v[1], v[2], rm, rv, true, 0.1, 1e-5, true, v[3], 2); },
          {x, g, bb, r});
}

TEST_CASE("gradcheck reports the worst miss and how many elements missed") {
    // y = x^2 with a backward of g * x (half the true gradient): element i misses by |x_i|, so
    // the worst is the largest |x| (element 2 here).
    Tensor x = Tensor::from_vector(std::vector<double>{0.5, -1.0, 3.0, 2.0}, {4}, DType::f64).set_requires_grad(true);
    std::string msg = gradcheck([](auto& v) {
        Tensor xd = v[0].detach();
        return record("half_square", kernels::binary(BinaryOp::mul, xd, xd), {v[0]},
                      [xd](const Tensor& g) { return GradList{kernels::binary(BinaryOp::mul, g, xd)}; });
    }, {x});
    INFO(msg);
    REQUIRE_THAT(msg, Catch::Contains("worst: input 0 element 2") && Catch::Contains("4 elements missed"));
}
