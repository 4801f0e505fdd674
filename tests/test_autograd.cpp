// The engine itself: accumulation, graph freeing, no-grad, error messages.
#include <catch2/catch.hpp>

#include "autograd/functional.h"
#include "tests/test_util.h"

using namespace dcodr;

static Tensor leaf(std::vector<double> v, Shape s) {
    Tensor t = Tensor::from_vector(v, s, DType::f64);
    t.set_requires_grad(true);
    return t;
}

TEST_CASE("backward computes hand-derived gradients") {
    Tensor x = leaf({1, 2, 3}, {3});
    Tensor y = sum(mul(x, x));  // d/dx = 2x
    backward(y);
    REQUIRE(x.grad().to_vector() == std::vector<double>{2, 4, 6});
}

TEST_CASE("gradients accumulate into existing .grad across backward calls and reuse") {
    Tensor x = leaf({1, 2}, {2});
    backward(sum(mul_scalar(x, 3)));
    backward(sum(mul_scalar(x, 3)));
    REQUIRE(x.grad().to_vector() == std::vector<double>{6, 6});
    x.zero_grad();
    // x used twice in one graph: both paths add up.
    backward(sum(add(x, mul(x, x))));
    REQUIRE(x.grad().to_vector() == std::vector<double>{3, 5});
}

// A node's pending gradient is added into in place when nothing else holds it. Here add(h, k)
// hands one tensor to both h and k, and h gathers more paths while k's share is still pending:
// adding into that shared tensor would corrupt k's gradient. Both orders of the graph's
// branches are tried, since the engine's order decides which gradient arrives first.
TEST_CASE("a non-leaf's gradient sums every path, shared or not") {
    for (bool k_last : {false, true}) {
        INFO("k's other use " << (k_last ? "last" : "first"));
        Tensor x = leaf({1, 2, 3}, {3});
        Tensor h = mul_scalar(x, 2), k = mul_scalar(x, 5);
        // loss = sum(h + k) + sum(h·h) + sum(7k): dloss/dh = 1 + 2h, dloss/dk = 1 + 7.
        Tensor shared = sum(add(h, k)), hh = sum(mul(h, h)), kk = sum(mul_scalar(k, 7));
        Tensor loss = k_last ? add(add(shared, hh), kk) : add(kk, add(shared, hh));
        backward(loss);
        // dloss/dx = 2·(1 + 2h) + 5·8 = 42 + 8x.
        REQUIRE(x.grad().to_vector() == std::vector<double>{50, 58, 66});
    }
}

// conv2d's backward adds its input gradient into the one gathered from the paths run before
// (take_pending_grad): h feeds a 1x1 convolution (the packed path in float32, which adds in its
// GEMM) and two other uses; its gradient must be the sum of all three, as computed one by one.
TEST_CASE("conv2d adds its input gradient into the pending one") {
    for (DType dt : {DType::f32, DType::f64}) {
        INFO((dt == DType::f32 ? "float32" : "float64"));
        Tensor x0 = testing::random_tensor({2, 128, 4, 4}, 21).to(dt), w0 = testing::random_tensor({32, 128, 1, 1}, 22).to(dt);
        Tensor r = testing::random_tensor({2, 32, 4, 4}, 23).to(dt), q = testing::random_tensor({2, 128, 4, 4}, 24).to(dt);
        // The convolution is the first operand, as a ResNet block's is: the engine then runs the
        // other uses' backward first, so h's gradient is pending when the convolution's runs.
        auto loss_of = [&](const Tensor& x, const Tensor& w, int parts) {
            Tensor h = mul_scalar(x, 2);
            Tensor total;
            if (parts & 4) total = sum(mul(conv2d(h, w), r));
            if (parts & 1) total = total.defined() ? add(total, sum(mul(h, q))) : sum(mul(h, q));
            if (parts & 2) total = total.defined() ? add(total, sum(mul(h, h))) : sum(mul(h, h));
            return total;
        };
        std::vector<double> want(static_cast<std::size_t>(x0.numel()), 0.0);
        for (int part : {1, 2, 4}) {
            Tensor x = x0.detach(), w = w0.detach();
            x.set_requires_grad(true), w.set_requires_grad(true);
            backward(loss_of(x, w, part));
            std::vector<double> g = x.grad().to(DType::f64).to_vector();
            for (std::size_t i = 0; i < g.size(); ++i) want[i] += g[i];
        }
        Tensor x = x0.detach(), w = w0.detach();
        x.set_requires_grad(true), w.set_requires_grad(true);
        backward(loss_of(x, w, 7));
        REQUIRE_CLOSE(x.grad().to(DType::f64), Tensor::from_vector(want, x0.shape(), DType::f64),
                      dt == DType::f32 ? 1e-4 : 1e-12, 1e-5);
    }
}

TEST_CASE("leaf gradients are independent dense tensors") {
    Tensor a = leaf({1, 2}, {2}), b = leaf({3, 4}, {2});
    backward(sum(add(a, b)));
    Tensor ga = a.grad();
    ga.fill_(7);  // must not change b's gradient (add passes the same tensor to both)
    REQUIRE(b.grad().to_vector() == std::vector<double>{1, 1});
    REQUIRE(a.grad().is_contiguous());
}

TEST_CASE("broadcast inputs get gradients of their own shape") {
    Tensor a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = leaf({10, 20, 30}, {3});
    backward(sum(mul(a, b)));
    REQUIRE(b.grad().shape() == Shape{3});
    REQUIRE(b.grad().to_vector() == std::vector<double>{5, 7, 9});
    REQUIRE(a.grad().to_vector() == std::vector<double>{10, 20, 30, 10, 20, 30});
}

TEST_CASE("no-grad guard records nothing; detach cuts history") {
    Tensor x = leaf({1, 2}, {2});
    {
        NoGradGuard guard;
        Tensor y = mul(x, x);
        REQUIRE_FALSE(y.requires_grad());
    }
    Tensor z = mul(x.detach(), x);
    backward(sum(z));
    REQUIRE(x.grad().to_vector() == std::vector<double>{1, 2});
}

TEST_CASE("the graph is freed after backward unless retained") {
    Tensor x = leaf({1, 2}, {2});
    Tensor y = sum(exp(x));
    backward(y, Tensor(), true);
    backward(y);  // retained once: a second pass is allowed
    REQUIRE(x.grad().to_vector()[0] == Approx(2 * std::exp(1.0)));
    REQUIRE_THROWS_WITH(backward(y), Catch::Contains("already freed"));
}

TEST_CASE("backward errors say what is wrong") {
    Tensor x = Tensor::from_vector(std::vector<double>{1, 2}, {2}, DType::f64);
    REQUIRE_THROWS_WITH(backward(sum(x)), Catch::Contains("does not require grad"));
    Tensor w = leaf({1, 2}, {2});
    REQUIRE_THROWS_WITH(backward(mul(w, w)), Catch::Contains("scalar"));
    REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::i64).set_requires_grad(true), Catch::Contains("floating"));
}

TEST_CASE("deep chains do not overflow the stack") {
    Tensor x = leaf({0.5}, {1});
    Tensor y = x;
    for (int i = 0; i < 20000; ++i) y = add_scalar(y, 0.0);
    backward(sum(y));
    REQUIRE(x.grad().item() == 1.0);
}
