// Positive augmentations: each transform's defining property, selection, determinism.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "data/augment.h"
#include "data/rng.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {

constexpr std::int64_t C = 3, H = 16, W = 16, N = C * H * W;

std::vector<float> noise(std::uint64_t seed, float lo = 0.2f, float hi = 0.8f) {
    std::vector<float> v(N);
    RandomStream r(seed);
    for (auto& x : v) x = static_cast<float>(r.uniform(lo, hi));
    return v;
}

std::vector<float> apply(Augmentation a, std::vector<float> img, std::uint64_t seed = 1, std::int64_t c = C) {
    RandomStream r(seed);
    apply_augmentation(a, img.data(), c, H, W, r);
    return img;
}

double mean(const std::vector<float>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }
double variance(const std::vector<float>& v) {
    double m = mean(v), s = 0;
    for (float x : v) s += (x - m) * (x - m);
    return s / static_cast<double>(v.size());
}
double gray_mean(const std::vector<float>& v) {
    double s = 0;
    for (std::int64_t i = 0; i < H * W; ++i) s += 0.299 * v[i] + 0.587 * v[H * W + i] + 0.114 * v[2 * H * W + i];
    return s / (H * W);
}
bool in_unit(const std::vector<float>& v) {
    for (float x : v)
        if (!(x >= 0.0f && x <= 1.0f)) return false;
    return true;
}

}  // namespace

TEST_CASE("blur keeps a constant image, lowers the variance of noise, keeps the mean", "[augment]") {
    auto flat = apply(Augmentation::blur, std::vector<float>(N, 0.4f));
    for (float x : flat) CHECK(x == Approx(0.4f).margin(1e-6));
    auto n = noise(3);
    auto b = apply(Augmentation::blur, n);
    CHECK(variance(b) < 0.3 * variance(n));
    CHECK(mean(b) == Approx(mean(n)).margin(0.01));
}

TEST_CASE("high contrast scales deviations from the mean gray by the factor", "[augment]") {
    auto n = noise(4, 0.45f, 0.55f);  // small deviations: nothing clamps
    auto out = apply(Augmentation::high_contrast, n, 11);
    const double m = gray_mean(n);
    double num = 0, den = 0;  // least-squares factor of (out - m) against (in - m)
    for (std::int64_t i = 0; i < N; ++i) {
        num += (out[i] - m) * (n[i] - m);
        den += (n[i] - m) * (n[i] - m);
    }
    const double f = num / den;
    CHECK(f >= 1.8 - 1e-4);
    CHECK(f <= 3.0 + 1e-4);
    for (std::int64_t i = 0; i < N; ++i) CHECK(out[i] - m == Approx(f * (n[i] - m)).margin(1e-5));
    // std around the gray mean grows by exactly the factor
    double s_in = 0, s_out = 0;
    for (std::int64_t i = 0; i < N; ++i) {
        s_in += (n[i] - m) * (n[i] - m);
        s_out += (out[i] - m) * (out[i] - m);
    }
    CHECK(std::sqrt(s_out / s_in) == Approx(f).epsilon(1e-4));
    auto low = apply(Augmentation::contrast_low, n, 11);
    CHECK(variance(low) < variance(n));
}

TEST_CASE("saturation, hue and grayscale leave gray images unchanged", "[augment]") {
    std::vector<float> gray(N);
    for (std::int64_t i = 0; i < H * W; ++i) gray[i] = gray[H * W + i] = gray[2 * H * W + i] = (i % 17) / 17.0f;
    for (auto a : {Augmentation::high_saturation, Augmentation::hue, Augmentation::grayscale}) {
        auto out = apply(a, gray, 5);
        for (std::int64_t i = 0; i < N; ++i) REQUIRE(out[i] == Approx(gray[i]).margin(1e-6));
    }
    // on colour, saturation pushes channels away from the per-pixel gray
    auto n = noise(6, 0.4f, 0.6f);
    auto s = apply(Augmentation::high_saturation, n, 5);
    double d_in = 0, d_out = 0;
    for (std::int64_t i = 0; i < H * W; ++i) {
        double g = 0.299 * n[i] + 0.587 * n[H * W + i] + 0.114 * n[2 * H * W + i];
        d_in += std::abs(n[i] - g);
        d_out += std::abs(s[i] - g);
    }
    CHECK(d_out > 1.7 * d_in);
}

TEST_CASE("grayscale has equal channels; flips are involutions", "[augment]") {
    auto n = noise(7);
    auto g = apply(Augmentation::grayscale, n);
    for (std::int64_t i = 0; i < H * W; ++i) {
        CHECK(g[i] == g[H * W + i]);
        CHECK(g[i] == g[2 * H * W + i]);
    }
    for (auto a : {Augmentation::hflip, Augmentation::vflip}) {
        auto once = apply(a, n);
        CHECK(once != n);
        CHECK(apply(a, once) == n);
    }
    auto h = apply(Augmentation::hflip, n);
    CHECK(h[0] == n[W - 1]);
    auto v = apply(Augmentation::vflip, n);
    CHECK(v[0] == n[(H - 1) * W]);
}

TEST_CASE("crop, rotation, erasing, brightness: shapes and effects", "[augment]") {
    auto n = noise(8);
    // crop zooms in: output keeps the shape, differs, stays in range, and a constant stays constant
    auto c = apply(Augmentation::crop, n, 2);
    CHECK(c.size() == n.size());
    CHECK(c != n);
    CHECK(in_unit(c));
    for (float x : apply(Augmentation::crop, std::vector<float>(N, 0.3f), 2)) CHECK(x == Approx(0.3f).margin(1e-6));
    Augmenter crop({Augmentation::crop}, 1);
    Tensor batch = Tensor::uniform({5, 3, 20, 12}, 0, 1, 9);
    CHECK(crop.apply(batch, 0).shape() == Shape{5, 3, 20, 12});

    // rotation of a constant image: centre unchanged, some corner turned black
    auto r = apply(Augmentation::rotation, std::vector<float>(N, 1.0f), 3);
    CHECK(r[(H / 2) * W + W / 2] == Approx(1.0f));
    CHECK(*std::min_element(r.begin(), r.end()) < 0.5f);

    auto e = apply(Augmentation::erasing, std::vector<float>(N, 1.0f), 4);
    auto zeros = std::count(e.begin(), e.end(), 0.0f);
    CHECK(zeros >= 3 * 4);  // at least a small rectangle in every channel
    CHECK(zeros % 3 == 0);

    auto lo = apply(Augmentation::brightness_low, n), hi = apply(Augmentation::brightness_high, n);
    CHECK(mean(lo) < 0.65 * mean(n));
    CHECK(mean(hi) > 1.3 * mean(n));
    CHECK(in_unit(hi));
    auto hue = apply(Augmentation::hue, n, 12);
    CHECK(hue != n);
    CHECK(in_unit(hue));
    auto ss = apply(Augmentation::simsiam, n, 13);
    CHECK(in_unit(ss));
}

TEST_CASE("one-channel images", "[augment]") {
    std::vector<float> g(H * W);
    RandomStream r(1);
    for (auto& x : g) x = static_cast<float>(r.unit());
    for (auto a : all_augmentations()) {
        RandomStream rr(2);
        auto img = g;
        apply_augmentation(a, img.data(), 1, H, W, rr);
        INFO(augmentation_name(a));
        CHECK(in_unit(img));
    }
}

TEST_CASE("parsing augmentation lists", "[augment]") {
    CHECK(parse_augmentations("default") == default_augmentations());
    CHECK(default_augmentations().size() == 4);
    CHECK(parse_augmentations(" blur , hflip,blur") == std::vector<Augmentation>{Augmentation::blur, Augmentation::hflip});
    CHECK(parse_augmentations("all").size() == 13);
    CHECK(augmentation_list_str(default_augmentations()) == "blur,high_contrast,crop,high_saturation");
    REQUIRE_THROWS_WITH(parse_augmentations("blur,sharpen"),
                        Contains("unknown augmentation 'sharpen'") && Contains("high_saturation") &&
                            Contains("grayscale"));
    REQUIRE_THROWS_WITH(parse_augmentations(" , "), Contains("empty"));
}

TEST_CASE("batches: one transform per image, reproducible from (seed, step)", "[augment]") {
    Tensor batch = Tensor::uniform({64, 3, H, W}, 0, 1, 21);
    Augmenter aug(default_augmentations(), 5);
    std::vector<Augmentation> chosen, chosen2;
    Tensor a = aug.apply(batch, 3, &chosen);
    Tensor b = aug.apply(batch, 3, &chosen2);
    CHECK(a.to_float_vector() == b.to_float_vector());
    CHECK(chosen == chosen2);
    CHECK(aug.apply(batch, 4).to_float_vector() != a.to_float_vector());
    CHECK(Augmenter(default_augmentations(), 6).apply(batch, 3).to_float_vector() != a.to_float_vector());
    // each of the four transforms is drawn for some of the 64 images
    for (auto t : default_augmentations()) CHECK(std::count(chosen.begin(), chosen.end(), t) > 4);
    auto in = batch.to_float_vector(), out = a.to_float_vector();
    CHECK(in_unit(out));
    // the input is not modified
    CHECK(batch.to_float_vector() == in);
}
