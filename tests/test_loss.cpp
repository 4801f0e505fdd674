// The domain-wise contrastive loss against a brute-force float64 implementation of the
// method doc's formula, its gradient by central differences, and the ablations.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functional.h"
#include "autograd/gradcheck.h"
#include "method/contrastive_loss.h"
#include "tests/test_util.h"

using namespace dcodr;
using method::ContrastiveMode;
using method::ContrastiveOptions;

namespace {

// Straight from the formula, one anchor at a time, on raw (unnormalised) vectors.
double brute_force(const std::vector<double>& zr, const std::vector<double>& pr, int b, int d,
                   const std::vector<std::int64_t>& dom, const ContrastiveOptions& o) {
    auto normed = [&](const std::vector<double>& v, int i) {
        std::vector<double> r(v.begin() + i * d, v.begin() + (i + 1) * d);
        double n = 0;
        for (double x : r) n += x * x;
        n = std::sqrt(n);
        for (double& x : r) x /= n;
        return r;
    };
    auto dot = [&](const std::vector<double>& a, const std::vector<double>& c) {
        double s = 0;
        for (int k = 0; k < d; ++k) s += a[k] * c[k];
        return s;
    };
    double total = 0;
    for (int i = 0; i < b; ++i) {
        auto zi = normed(zr, i), pi = normed(pr, i);
        double pos = o.mode == ContrastiveMode::no_positive ? 1.0 : dot(zi, pi);
        double denom = std::exp(pos / o.tau);
        int taken = 0;
        for (int s = 1; s < b; ++s) {
            int j = (i + s) % b;
            if (o.mode != ContrastiveMode::standard && dom[j] != dom[i]) continue;
            if (o.max_negatives > 0 && taken == o.max_negatives) break;
            denom += std::exp(dot(zi, normed(zr, j)) / o.tau);
            ++taken;
        }
        total += -std::log(std::exp(pos / o.tau) / denom);
    }
    return total / b;
}

Tensor loss_of(const Tensor& zr, const Tensor& pr, const std::vector<std::int64_t>& dom, const ContrastiveOptions& o) {
    return method::contrastive_loss(l2_normalize(zr, 1), l2_normalize(pr, 1), dom, o);
}

}  // namespace

TEST_CASE("contrastive loss equals the brute-force formula in every mode") {
    const int b = 8, d = 5;
    std::vector<std::int64_t> dom = {0, 0, 1, 1, 0, 2, 1, 2};
    Tensor zr = testing::random_tensor({b, d}, 1), pr = testing::random_tensor({b, d}, 2);
    for (auto mode : {ContrastiveMode::domain_wise, ContrastiveMode::standard, ContrastiveMode::no_positive})
        for (std::int64_t cap : {0, 1})
            for (double tau : {0.1, 0.2}) {
                ContrastiveOptions o{tau, mode, cap};
                double expected = brute_force(zr.to_vector(), pr.to_vector(), b, d, dom, o);
                INFO(method::contrastive_mode_name(mode) << " cap " << cap << " tau " << tau);
                REQUIRE(loss_of(zr, pr, dom, o).item() == Approx(expected).epsilon(1e-12));
            }
}

TEST_CASE("contrastive loss gradient matches central differences of the formula") {
    const int b = 6, d = 4;
    std::vector<std::int64_t> dom = {0, 1, 0, 1, 0, 1};
    for (auto mode : {ContrastiveMode::domain_wise, ContrastiveMode::standard}) {
        ContrastiveOptions o{0.2, mode, 0};
        Tensor zr = testing::random_tensor({b, d}, 3), pr = testing::random_tensor({b, d}, 4);
        zr.set_requires_grad(true);
        pr.set_requires_grad(true);
        backward(loss_of(zr, pr, dom, o));
        // Reference gradient: central differences of the brute-force loss.
        for (Tensor* t : {&zr, &pr}) {
            auto base_z = zr.to_vector(), base_p = pr.to_vector();
            auto g = t->grad().to_vector();
            for (int k = 0; k < b * d; ++k) {
                auto zp = base_z, pp = base_p;
                auto& v = (t == &zr) ? zp : pp;
                double h = 1e-6;
                v[k] += h;
                double plus = brute_force(zp, pp, b, d, dom, o);
                v[k] -= 2 * h;
                double minus = brute_force(zp, pp, b, d, dom, o);
                REQUIRE(g[k] == Approx((plus - minus) / (2 * h)).margin(1e-7));
            }
        }
    }
}

TEST_CASE("domain-wise negatives never cross domains; standard ones do") {
    std::vector<std::int64_t> dom = {0, 0, 1, 1};
    auto m = method::negative_mask(dom, {0.1, ContrastiveMode::domain_wise, 0}, DType::f64, Device::cpu()).to_vector();
    REQUIRE(m == std::vector<double>{0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0});
    auto s = method::negative_mask(dom, {0.1, ContrastiveMode::standard, 0}, DType::f64, Device::cpu()).to_vector();
    REQUIRE(s == std::vector<double>{0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0});
    // Hence the domain-wise loss of a batch splits into independent per-domain losses;
    // the standard one couples the domains.
    Tensor z = testing::random_tensor({4, 3}, 5), p = testing::random_tensor({4, 3}, 6);
    auto split_sum = [&](ContrastiveMode mode) {
        return (loss_of(z.slice(0, 0, 2), p.slice(0, 0, 2), {0, 0}, {0.1, mode, 0}).item() +
                loss_of(z.slice(0, 2, 4), p.slice(0, 2, 4), {1, 1}, {0.1, mode, 0}).item()) / 2;
    };
    REQUIRE(loss_of(z, p, dom, {0.1, ContrastiveMode::domain_wise, 0}).item() ==
            Approx(split_sum(ContrastiveMode::domain_wise)).epsilon(1e-12));
    REQUIRE(loss_of(z, p, dom, {0.1, ContrastiveMode::standard, 0}).item() >
            split_sum(ContrastiveMode::standard) + 1e-3);
}

TEST_CASE("contrastive loss rejects mismatched input") {
    Tensor z = Tensor::zeros({4, 3}), p = Tensor::zeros({4, 2});
    REQUIRE_THROWS_WITH(method::contrastive_loss(z, p, {0, 0, 1, 1}, {}), Catch::Contains("must both be [B, D]"));
    REQUIRE_THROWS_WITH(method::contrastive_loss(z, z, {0, 1}, {}), Catch::Contains("2 domain labels"));
    REQUIRE_THROWS_WITH(method::parse_contrastive_mode("x"), Catch::Contains("domain_wise, standard"));
}
