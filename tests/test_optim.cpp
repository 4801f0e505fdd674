// Adam against the update rule computed by hand; StepLR's schedule; state round trip.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functional.h"
#include "nn/optim.h"
#include "tests/test_util.h"

using namespace dcodr;

TEST_CASE("Adam follows PyTorch's update rule over several steps") {
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor p = Tensor::from_vector(std::vector<double>{1.0, -2.0, 0.5}, {3}, dt);
        p.set_requires_grad(true);
        nn::Adam opt({{{{"p", p}}, 0.1}}, 0.5, 0.999, 1e-8);
        std::vector<double> ref = {1.0, -2.0, 0.5}, m(3, 0), v(3, 0);
        for (int t = 1; t <= 4; ++t) {
            opt.zero_grad();
            backward(sum(mul(mul(p, p), p)));  // grad 3 p^2
            opt.step();
            for (int i = 0; i < 3; ++i) {
                double g = 3 * ref[i] * ref[i];
                m[i] = 0.5 * m[i] + 0.5 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                double mh = m[i] / (1 - std::pow(0.5, t)), vh = v[i] / (1 - std::pow(0.999, t));
                ref[i] -= 0.1 * mh / (std::sqrt(vh) + 1e-8);
            }
        }
        auto got = p.to_vector();
        for (int i = 0; i < 3; ++i) REQUIRE(got[i] == Approx(ref[i]).epsilon(dt == DType::f64 ? 1e-12 : 1e-5));
        REQUIRE(opt.steps() == 4);
    }
}

TEST_CASE("Adam generic (composed) and fused CPU paths agree") {
    Tensor p1 = Tensor::uniform({100}, -1, 1, 5, 0, DType::f64), p2 = p1.clone();
    Tensor g = Tensor::uniform({100}, -1, 1, 6, 0, DType::f64);
    Tensor m1 = Tensor::zeros({100}, DType::f64), v1 = m1.clone(), m2 = m1.clone(), v2 = m1.clone();
    p1.backend().adam_step(p1, g, m1, v1, 0.01, 0.9, 0.999, 1e-8, 0.1, 0.001);
    p2.backend().Backend::adam_step(p2, g, m2, v2, 0.01, 0.9, 0.999, 1e-8, 0.1, 0.001);
    REQUIRE_CLOSE(p1, p2, 1e-14, 1e-12);
    REQUIRE_CLOSE(v1, v2, 1e-16, 1e-12);
}

TEST_CASE("Adam on a non-contiguous parameter updates each element with its own gradient and moments") {
    // p is a transposed view: element (i, j) of the view pairs with element (i, j) of g, m, v.
    Tensor base = Tensor::uniform({4, 3}, -1, 1, 7, 0, DType::f64);
    Tensor p = base.transpose(0, 1);  // [3, 4], not contiguous
    Tensor ref = p.contiguous();
    Tensor g = Tensor::uniform({3, 4}, -1, 1, 8, 0, DType::f64);
    Tensor m = Tensor::uniform({3, 4}, -0.1, 0.1, 9, 0, DType::f64), v = Tensor::uniform({3, 4}, 0, 0.01, 10, 0, DType::f64);
    Tensor mr = m.clone(), vr = v.clone();
    p.backend().adam_step(p, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, 0.001);
    ref.backend().adam_step(ref, g, mr, vr, 0.01, 0.9, 0.999, 1e-8, 0.1, 0.001);
    REQUIRE_CLOSE(p.contiguous(), ref, 1e-14, 1e-12);
    REQUIRE_CLOSE(m, mr, 1e-16, 1e-12);
    // The multi-tensor entry point gives the same.
    Tensor p2 = Tensor::uniform({4, 3}, -1, 1, 7, 0, DType::f64).transpose(0, 1);
    Tensor m2 = Tensor::uniform({3, 4}, -0.1, 0.1, 9, 0, DType::f64), v2 = Tensor::uniform({3, 4}, 0, 0.01, 10, 0, DType::f64);
    p2.backend().adam_step_multi({{&p2, &g, &m2, &v2}}, 0.01, 0.9, 0.999, 1e-8, 0.1, 0.001);
    REQUIRE_CLOSE(p2.contiguous(), ref, 1e-14, 1e-12);
}

TEST_CASE("Adam rejects a parameter listed twice (tied weights would be updated twice)") {
    Tensor p = Tensor::zeros({3}, DType::f32);
    p.set_requires_grad(true);
    REQUIRE_THROWS_WITH((nn::Adam({{{{"a", p}, {"b", p}}, 0.1}}, 0.9, 0.999, 1e-8)),
                        Catch::Matchers::Contains("'b'") && Catch::Matchers::Contains("'a'"));
}

TEST_CASE("StepLR multiplies learning rates every step_size epochs") {
    Tensor a = Tensor::zeros({1}), b = Tensor::zeros({1});
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    nn::Adam opt({{{{"a", a}}, 1e-4}, {{{"b", b}}, 3e-3}}, 0.5, 0.999);
    nn::StepLR sched(opt, 30, 0.33);
    sched.set_epoch(29);
    REQUIRE(opt.groups()[0].lr == Approx(1e-4));
    sched.set_epoch(30);
    REQUIRE(opt.groups()[0].lr == Approx(0.33e-4));
    sched.set_epoch(65);
    REQUIRE(opt.groups()[1].lr == Approx(3e-3 * 0.33 * 0.33));
}

TEST_CASE("Adam state saves and restores exactly") {
    Tensor p = Tensor::uniform({4}, -1, 1, 1);
    p.set_requires_grad(true);
    nn::Adam opt({{{{"w", p}}, 0.01}});
    backward(sum(square(p)));
    opt.step();
    auto state = opt.state();
    Tensor q = p.detach().clone();
    q.set_requires_grad(true);
    nn::Adam other({{{{"w", q}}, 0.01}});
    other.load_state(state);
    REQUIRE(other.steps() == 1);
    REQUIRE_THROWS_WITH(other.load_state({}), Catch::Contains("missing"));
}

TEST_CASE("clip_grad_norm scales all gradients to the global norm") {
    Tensor a = Tensor::zeros({2}, DType::f64), b = Tensor::zeros({1}, DType::f64);
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    a.set_grad(Tensor::from_vector(std::vector<double>{3, 0}, {2}, DType::f64));
    b.set_grad(Tensor::from_vector(std::vector<double>{4}, {1}, DType::f64));
    REQUIRE(nn::clip_grad_norm({a, b}, 10.0) == Approx(5.0));
    REQUIRE(a.grad().to_vector() == std::vector<double>{3, 0});  // under the limit: untouched
    REQUIRE(nn::clip_grad_norm({a, b}, 1.0) == Approx(5.0));
    REQUIRE(a.grad().to_vector()[0] == Approx(0.6));
    REQUIRE(b.grad().to_vector()[0] == Approx(0.8));
    // Parameters of different dtypes in one call.
    Tensor c = Tensor::zeros({1}, DType::f32);
    c.set_requires_grad(true);
    c.set_grad(Tensor::from_vector(std::vector<double>{12}, {1}, DType::f32));
    a.set_grad(Tensor::from_vector(std::vector<double>{3, 0}, {2}, DType::f64));
    b.set_grad(Tensor::from_vector(std::vector<double>{4}, {1}, DType::f64));
    REQUIRE(nn::clip_grad_norm({a, b, c}, 100.0) == Approx(13.0));
}
