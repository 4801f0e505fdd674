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

// ---- a batch that holds an image twice (a domain smaller than its chunk, padded) ----

namespace {

// The authors' definition, written out: anchor i's negatives are the other rows of its domain
// except copies of its own image (their sampler never puts an image twice in a batch, and their
// loss never uses the anchor itself). z and p are already normalised.
double without_self_reference(const std::vector<double>& z, const std::vector<double>& p, int b, int d,
                              const std::vector<std::int64_t>& dom, const std::vector<std::int64_t>& image,
                              double tau) {
    auto dot = [&](const std::vector<double>& x, int i, const std::vector<double>& y, int j) {
        double s = 0;
        for (int k = 0; k < d; ++k) s += x[i * d + k] * y[j * d + k];
        return s;
    };
    double total = 0;
    for (int i = 0; i < b; ++i) {
        const double pos = dot(z, i, p, i) / tau;
        double denom = std::exp(pos);
        for (int j = 0; j < b; ++j)
            if (j != i && dom[j] == dom[i] && image[j] != image[i]) denom += std::exp(dot(z, i, z, j) / tau);
        total += std::log(denom) - pos;
    }
    return total / b;
}

}  // namespace

TEST_CASE("an image's copies in the batch are not its negatives (by image index)") {
    // Domain 0 has 3 images padded to a chunk of 5 (images 7 and 9 twice); domain 1 is full.
    // Rows of the same image have the same clean code; their positives differ (two draws of
    // the augmentation), as in training.
    const int b = 9, d = 4;
    const std::vector<std::int64_t> dom = {0, 0, 0, 0, 0, 1, 1, 1, 1};
    const std::vector<std::int64_t> image = {7, 8, 9, 7, 9, 20, 21, 22, 23};
    Tensor zr = testing::random_tensor({b, d}, 21);
    auto zv = zr.to_vector();
    for (int k = 0; k < d; ++k) {
        zv[3 * d + k] = zv[0 * d + k];  // row 3 is image 7 again
        zv[4 * d + k] = zv[2 * d + k];  // row 4 is image 9 again
    }
    Tensor z = l2_normalize(Tensor::from_vector(zv, {b, d}, DType::f64), 1);
    Tensor p = l2_normalize(testing::random_tensor({b, d}, 22), 1);
    for (double tau : {0.1, 0.2}) {
        ContrastiveOptions o{tau, ContrastiveMode::domain_wise, 0};
        const double reference = without_self_reference(z.to_vector(), p.to_vector(), b, d, dom, image, tau);
        const double with_images = method::contrastive_loss(z, p, dom, o, image).item();
        const double old = method::contrastive_loss(z, p, dom, o).item();  // copies counted as negatives
        INFO("tau " << tau);
        REQUIRE(with_images == Approx(reference).epsilon(1e-12));
        // The old behaviour: each copy adds exp(1 / tau) (a negative as similar as can be) to its
        // twin's denominator, a large difference.
        REQUIRE(old > with_images + 0.1);
    }
    // Distinct images that happen to be equal in value stay negatives: by index, not by value.
    const std::vector<std::int64_t> distinct = {7, 8, 9, 10, 11, 20, 21, 22, 23};
    ContrastiveOptions o{0.1, ContrastiveMode::domain_wise, 0};
    REQUIRE(method::contrastive_loss(z, p, dom, o, distinct).item() ==
            Approx(method::contrastive_loss(z, p, dom, o).item()).epsilon(1e-14));
    // The mask itself: row 0 (image 7) has negatives 8 and 9 (rows 1, 2, 4), not row 3.
    auto m = method::negative_mask(dom, o, DType::f64, Device::cpu(), image).to_vector();
    REQUIRE(std::vector<double>(m.begin(), m.begin() + b) == std::vector<double>{0, 1, 1, 0, 1, 0, 0, 0, 0});
    // Standard mode drops copies too.
    auto s = method::negative_mask(dom, {0.1, ContrastiveMode::standard, 0}, DType::f64, Device::cpu(), image)
                 .to_vector();
    REQUIRE(std::vector<double>(s.begin(), s.begin() + b) == std::vector<double>{0, 1, 1, 0, 1, 1, 1, 1, 1});
    REQUIRE_THROWS_WITH(method::contrastive_loss(z, p, dom, o, {1, 2}), Catch::Contains("2 image indices"));
}

TEST_CASE("gradient with copies in the batch, and a row left without negatives, in float64") {
    // Domain 0: one image (5) filling its whole chunk of 3 rows: no negatives at all, the loss
    // of those rows is log(1) = 0 with a zero gradient; domain 1 has a copy.
    const std::vector<std::int64_t> dom = {0, 0, 0, 1, 1, 1, 1};
    const std::vector<std::int64_t> image = {5, 5, 5, 6, 7, 6, 8};
    for (auto mode : {ContrastiveMode::domain_wise, ContrastiveMode::standard, ContrastiveMode::no_positive}) {
        ContrastiveOptions o{0.2, mode, 0};
        auto f = [&](const std::vector<Tensor>& v) {
            return method::contrastive_loss(l2_normalize(v[0], 1), l2_normalize(v[1], 1), dom, o, image);
        };
        Tensor zr = testing::random_tensor({7, 3}, 31), pr = testing::random_tensor({7, 3}, 32);
        zr.set_requires_grad(true);
        pr.set_requires_grad(true);
        INFO(method::contrastive_mode_name(mode));
        REQUIRE(std::isfinite(f({zr, pr}).item()));
        std::string msg = gradcheck(f, {zr, pr});
        REQUIRE(msg.empty());
    }
}
