// Positive augmentations: each transform's defining property, selection, determinism.
#include <catch2/catch.hpp>

#include <algorithm>
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

    // the textbook rotation: a constant white image gets black corners (bilinear, black outside)
    auto r = apply(Augmentation::rotation_bilinear, std::vector<float>(N, 1.0f), 3);
    CHECK(r[(H / 2) * W + W / 2] == Approx(1.0f));
    CHECK(*std::min_element(r.begin(), r.end()) < 0.5f);

    auto e = apply(Augmentation::erasing_rect, std::vector<float>(N, 1.0f), 4);
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
    for (auto a : {Augmentation::simsiam, Augmentation::simsiam_paper, Augmentation::rotation_bilinear,
                   Augmentation::erasing_rect}) {
        auto all = parse_augmentations("all");
        CHECK(std::find(all.begin(), all.end(), a) == all.end());
    }
    // the authors' names (transforms_utils.py) are synonyms
    auto authors = parse_augmentations("gblurr,high_satur,h_flip,v_flip,affine,random_erasing,hue_rot,low_bright,"
                                       "high_bright,low_contrast,high_contrast,grayscale,crop"),
         all = parse_augmentations("all");
    std::sort(authors.begin(), authors.end());
    std::sort(all.begin(), all.end());
    CHECK(authors == all);
    CHECK(augmentation_list_str(parse_augmentations("affine,gblurr")) == "rotation,blur");
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

// ---- the authors' augmentation-study transforms (transforms_utils.py), issue 14 item 5 ----

namespace {

// Many draws of one transform on copies of `img`.
template <class F>
void draws(Augmentation a, const std::vector<float>& img, int n, std::int64_t c, F&& f) {
    for (int s = 0; s < n; ++s) f(apply(a, img, 1000 + static_cast<std::uint64_t>(s), c));
}

double hue_of(float r, float g, float b) {
    float mx = std::max({r, g, b}), mn = std::min({r, g, b}), cr = mx - mn;
    if (cr <= 0) return 0;
    double h = mx == r ? (g - b) / cr : mx == g ? 2.0 + (b - r) / cr : 4.0 + (r - g) / cr;
    h /= 6.0;
    return h - std::floor(h);
}

}  // namespace

TEST_CASE("rotation matches torchvision's RandomAffine(fill=255): nearest, white, clockwise", "[augment]") {
    // tests/make_augment_fixture.py: F.affine(PIL image, angle, nearest, fill=255), red channel.
    const std::vector<int> at30 = {255, 58, 34, 37, 16, 19, 255, 255, 255, 82, 61, 64, 43, 46, 22, 25,
                                   106, 85, 85, 64, 67, 46, 49, 28, 130, 109, 112, 91, 94, 73, 73, 52,
                                   157, 136, 136, 115, 118, 97, 100, 79, 181, 160, 163, 142, 145, 124, 124, 103,
                                   184, 187, 163, 166, 145, 148, 127, 255, 255, 255, 190, 193, 172, 175, 151, 255};
    const std::vector<int> at_m25 = {255, 255, 22, 25, 49, 52, 55, 255, 13, 16, 43, 46, 49, 76, 79, 255,
                                     37, 40, 67, 70, 73, 97, 100, 127, 61, 61, 64, 91, 94, 121, 124, 151,
                                     58, 85, 88, 115, 118, 145, 148, 148, 82, 109, 112, 136, 139, 142, 169, 172,
                                     255, 130, 133, 160, 163, 166, 193, 196, 255, 154, 157, 160, 184, 187, 255, 255};
    for (auto [angle, want] : {std::pair{30.0f, at30}, std::pair{-25.0f, at_m25}}) {
        std::vector<float> img(3 * 64);
        for (int i = 0; i < 64; ++i) {
            img[i] = static_cast<float>(3 * i + 10) / 255.0f;
            img[64 + i] = static_cast<float>(255 - (3 * i + 10)) / 255.0f;
            img[128 + i] = static_cast<float>((3 * i + 10) / 2) / 255.0f;
        }
        rotate_image(img.data(), 3, 8, 8, angle, true, 1.0f);
        INFO("angle " << angle);
        for (int i = 0; i < 64; ++i) CHECK(img[i] * 255.0f == Approx(want[i]).margin(1e-3));
    }
}

TEST_CASE("rotation over many draws: white corners, only input values, angles within 40 degrees", "[augment]") {
    // A black image: every output pixel is either an input pixel (0, nearest) or the fill (1).
    int white_corner = 0;
    draws(Augmentation::rotation, std::vector<float>(N, 0.0f), 200, C, [&](const std::vector<float>& r) {
        for (float x : r) REQUIRE((x == 0.0f || x == 1.0f));
        white_corner += r[0] == 1.0f;
        // within 40 degrees the centre and the middle of each edge stay inside the image
        REQUIRE(r[(H / 2) * W + W / 2] == 0.0f);
        REQUIRE(r[(H / 2) * W] == 0.0f);
    });
    CHECK(white_corner > 150);  // |angle| > ~3 degrees uncovers the corner
}

TEST_CASE("erasing zeroes full-height column bands in one or two channels (the authors' HWC layout)", "[augment]") {
    int erased = 0, one = 0, two = 0;
    std::int64_t widest = 0;
    draws(Augmentation::erasing, std::vector<float>(N, 1.0f), 300, C, [&](const std::vector<float>& e) {
        int channels_hit = 0;
        std::vector<int> band;
        for (std::int64_t c = 0; c < C; ++c) {
            std::vector<int> cols;
            for (std::int64_t x = 0; x < W; ++x) {
                int z = 0;
                for (std::int64_t y = 0; y < H; ++y) z += e[c * H * W + y * W + x] == 0.0f;
                REQUIRE((z == 0 || z == H));  // a column is erased over its whole height or not at all
                if (z == H) cols.push_back(static_cast<int>(x));
            }
            if (cols.empty()) continue;
            ++channels_hit;
            REQUIRE(cols.back() - cols.front() + 1 == static_cast<int>(cols.size()));  // one contiguous band
            if (!band.empty()) REQUIRE(cols == band);  // the same band in every channel hit
            band = cols;
        }
        REQUIRE(channels_hit <= 2);
        erased += channels_hit > 0;
        one += channels_hit == 1;
        two += channels_hit == 2;
        widest = std::max<std::int64_t>(widest, static_cast<std::int64_t>(band.size()));
    });
    CHECK(erased > 200);
    CHECK(one > 20);
    CHECK(two > 20);
    CHECK(widest < W);
    // A 1-channel image was tiled to RGB, erased, averaged: the band keeps 1/3 or 2/3 of its value.
    std::vector<float> gray(H * W, 0.9f);
    bool saw = false;
    draws(Augmentation::erasing, gray, 50, 1, [&](const std::vector<float>& e) {
        for (float x : e) {
            REQUIRE((x == Approx(0.9f) || x == Approx(0.3f) || x == Approx(0.6f)));
            saw = saw || x < 0.8f;
        }
    });
    CHECK(saw);
}

TEST_CASE("brightness, contrast and hue draw the authors' ranges", "[augment]") {
    auto factor_range = [](Augmentation a) {
        double lo = 1e9, hi = -1e9;
        draws(a, std::vector<float>(N, 0.5f), 400, C, [&](const std::vector<float>& o) {
            lo = std::min(lo, o[0] / 0.5);
            hi = std::max(hi, o[0] / 0.5);
        });
        return std::pair{lo, hi};
    };
    auto [bl_lo, bl_hi] = factor_range(Augmentation::brightness_low);
    CHECK(bl_lo >= 0.2 - 1e-5);
    CHECK(bl_lo < 0.22);
    CHECK(bl_hi <= 0.6 + 1e-5);
    CHECK(bl_hi > 0.58);
    auto [bh_lo, bh_hi] = factor_range(Augmentation::brightness_high);
    CHECK(bh_lo >= 1.4 - 1e-5);
    CHECK(bh_lo < 1.42);
    CHECK(bh_hi <= 1.8 + 1e-5);
    CHECK(bh_hi > 1.78);

    // contrast_low: the factor by which deviations from the mean gray shrink
    auto n = noise(4, 0.45f, 0.55f);
    const double m = gray_mean(n);
    double c_lo = 1e9, c_hi = -1e9;
    draws(Augmentation::contrast_low, n, 400, C, [&](const std::vector<float>& o) {
        double num = 0, den = 0;
        for (std::int64_t i = 0; i < N; ++i) {
            num += (o[i] - m) * (n[i] - m);
            den += (n[i] - m) * (n[i] - m);
        }
        c_lo = std::min(c_lo, num / den);
        c_hi = std::max(c_hi, num / den);
    });
    CHECK(c_lo >= 0.3 - 1e-3);
    CHECK(c_lo < 0.32);
    CHECK(c_hi <= 0.8 + 1e-3);
    CHECK(c_hi > 0.78);

    // hue: a shift of 0.2 to 0.5 turns, in either direction, never a small one
    std::vector<float> red(N, 0.0f);
    std::fill(red.begin(), red.begin() + H * W, 0.8f);
    red[H * W] = 0.2f;  // pixel 0: hue 0.04 (slightly orange), so that +-0.5 are told apart
    const double h0 = hue_of(red[0], red[H * W], red[2 * H * W]);
    int up = 0, down = 0;
    double smallest = 1, largest = 0;
    draws(Augmentation::hue, red, 400, C, [&](const std::vector<float>& o) {
        double d = hue_of(o[0], o[H * W], o[2 * H * W]) - h0;
        d -= std::round(d);  // to (-0.5, 0.5]
        smallest = std::min(smallest, std::abs(d));
        largest = std::max(largest, std::abs(d));
        up += d > 0;
        down += d < 0;
    });
    CHECK(smallest >= 0.2 - 1e-3);
    CHECK(smallest < 0.21);
    CHECK(largest > 0.49);
    CHECK(up > 150);
    CHECK(down > 150);
}

TEST_CASE("the authors' SimSiam set: jitter p 0.3, grayscale p 0.2", "[augment]") {
    // On a flat coloured image crop, flip and blur change nothing: what changes is colour jitter
    // (p 0.3) and grayscale (p 0.2), which the counts below tell apart.
    std::vector<float> flat(N);
    for (std::int64_t i = 0; i < H * W; ++i) flat[i] = 0.6f, flat[H * W + i] = 0.35f, flat[2 * H * W + i] = 0.2f;
    auto rates = [&](Augmentation a) {
        int gray = 0, jitter_only = 0;
        draws(a, flat, 1000, C, [&](const std::vector<float>& o) {
            const bool is_gray = o[0] == o[H * W] && o[0] == o[2 * H * W];
            gray += is_gray;
            jitter_only += !is_gray && std::abs(o[0] - flat[0]) + std::abs(o[H * W] - flat[H * W]) > 1e-4;
        });
        return std::pair{gray / 1000.0, jitter_only / 1000.0};
    };
    auto [g, j] = rates(Augmentation::simsiam);
    CHECK(g == Approx(0.2).margin(0.04));
    CHECK(j == Approx(0.3 * 0.8).margin(0.05));
    auto [gp, jp] = rates(Augmentation::simsiam_paper);  // SimSiam's own recipe jitters at p 0.8
    CHECK(gp == Approx(0.2).margin(0.04));
    CHECK(jp == Approx(0.8 * 0.8).margin(0.05));

}
