#include "data/augment.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "data/image.h"
#include "tensor/error.h"

namespace dcodr::data {

namespace {

constexpr float kPi = 3.14159265358979f;

// One image [C, H, W].
struct Img {
    float* p;
    std::int64_t c, h, w;
    std::int64_t plane() const { return h * w; }
    std::int64_t size() const { return c * h * w; }
    float* ch(std::int64_t k) const { return p + k * plane(); }
};

void clamp01(Img v) {
    for (std::int64_t i = 0; i < v.size(); ++i) v.p[i] = std::clamp(v.p[i], 0.0f, 1.0f);
}

float luma(const Img& v, std::int64_t i) {
    return v.c == 3 ? 0.299f * v.p[i] + 0.587f * v.p[v.plane() + i] + 0.114f * v.p[2 * v.plane() + i] : v.p[i];
}

void brightness(Img v, float f) {
    for (std::int64_t i = 0; i < v.size(); ++i) v.p[i] *= f;
    clamp01(v);
}

// torchvision adjust_contrast: blend with the mean of the grayscale image.
void contrast(Img v, float f) {
    double sum = 0;
    for (std::int64_t i = 0; i < v.plane(); ++i) sum += luma(v, i);
    const float mean = static_cast<float>(sum / static_cast<double>(v.plane()));
    for (std::int64_t i = 0; i < v.size(); ++i) v.p[i] = f * v.p[i] + (1.0f - f) * mean;
    clamp01(v);
}

// torchvision adjust_saturation: blend with the per-pixel grayscale.
void saturation(Img v, float f) {
    if (v.c != 3) return;
    for (std::int64_t i = 0; i < v.plane(); ++i) {
        const float g = luma(v, i);
        for (std::int64_t k = 0; k < 3; ++k) {
            float& x = v.p[k * v.plane() + i];
            x = std::clamp(f * x + (1.0f - f) * g, 0.0f, 1.0f);
        }
    }
}

void grayscale(Img v) {
    if (v.c != 3) return;
    for (std::int64_t i = 0; i < v.plane(); ++i) {
        const float g = luma(v, i);
        for (std::int64_t k = 0; k < 3; ++k) v.p[k * v.plane() + i] = g;
    }
}

void hflip(Img v) {
    for (std::int64_t k = 0; k < v.c; ++k)
        for (std::int64_t y = 0; y < v.h; ++y) std::reverse(v.ch(k) + y * v.w, v.ch(k) + (y + 1) * v.w);
}

void vflip(Img v) {
    for (std::int64_t k = 0; k < v.c; ++k)
        for (std::int64_t y = 0; y < v.h / 2; ++y)
            std::swap_ranges(v.ch(k) + y * v.w, v.ch(k) + (y + 1) * v.w, v.ch(k) + (v.h - 1 - y) * v.w);
}

std::int64_t reflect(std::int64_t i, std::int64_t n) {
    if (n == 1) return 0;
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
    return std::clamp<std::int64_t>(i, 0, n - 1);  // images smaller than the kernel
}

// Separable Gaussian of odd kernel size `ksize` (5 for the default set, 3 in the authors'
// SimSiam set), reflect padding (torchvision gaussian_blur).
void blur(Img v, float sigma, int ksize = 5) {
    const int half = ksize / 2;
    std::array<float, 9> k{};
    float sum = 0;
    for (int i = 0; i < ksize; ++i) sum += k[i] = std::exp(-0.5f * (i - half) * (i - half) / (sigma * sigma));
    for (int i = 0; i < ksize; ++i) k[i] /= sum;
    std::vector<float> tmp(static_cast<std::size_t>(v.plane()));
    for (std::int64_t c = 0; c < v.c; ++c) {
        float* p = v.ch(c);
        for (std::int64_t y = 0; y < v.h; ++y)
            for (std::int64_t x = 0; x < v.w; ++x) {
                float acc = 0;
                for (int t = 0; t < ksize; ++t) acc += k[t] * p[y * v.w + reflect(x + t - half, v.w)];
                tmp[y * v.w + x] = acc;
            }
        for (std::int64_t y = 0; y < v.h; ++y)
            for (std::int64_t x = 0; x < v.w; ++x) {
                float acc = 0;
                for (int t = 0; t < ksize; ++t) acc += k[t] * tmp[reflect(y + t - half, v.h) * v.w + x];
                p[y * v.w + x] = acc;
            }
    }
    clamp01(v);
}

// Hue rotation through HSV (torchvision adjust_hue), h in turns.
void hue(Img v, float delta) {
    if (v.c != 3) return;
    const std::int64_t n = v.plane();
    for (std::int64_t i = 0; i < n; ++i) {
        float r = v.p[i], g = v.p[n + i], b = v.p[2 * n + i];
        float mx = std::max({r, g, b}), mn = std::min({r, g, b}), cr = mx - mn;
        float h = 0, s = mx > 0 ? cr / mx : 0;
        if (cr > 0) {
            if (mx == r) h = (g - b) / cr;
            else if (mx == g) h = 2.0f + (b - r) / cr;
            else h = 4.0f + (r - g) / cr;
            h /= 6.0f;
        }
        h += delta;
        h -= std::floor(h);
        float h6 = h * 6.0f;
        int sector = std::min(5, static_cast<int>(h6));
        float f = h6 - sector, p = mx * (1 - s), q = mx * (1 - s * f), t = mx * (1 - s * (1 - f));
        switch (sector) {
            case 0: r = mx, g = t, b = p; break;
            case 1: r = q, g = mx, b = p; break;
            case 2: r = p, g = mx, b = t; break;
            case 3: r = p, g = q, b = mx; break;
            case 4: r = t, g = p, b = mx; break;
            default: r = mx, g = p, b = q; break;
        }
        v.p[i] = r;
        v.p[n + i] = g;
        v.p[2 * n + i] = b;
    }
    clamp01(v);
}

// Bilinear sample of plane p at index coordinates (x, y); outside the image counts as `fill`.
float sample_fill(const float* p, std::int64_t h, std::int64_t w, float x, float y, float fill) {
    const float fx = std::floor(x), fy = std::floor(y);
    const auto x0 = static_cast<std::int64_t>(fx), y0 = static_cast<std::int64_t>(fy);
    const float ax = x - fx, ay = y - fy;
    auto at = [&](std::int64_t yy, std::int64_t xx) {
        return (yy >= 0 && yy < h && xx >= 0 && xx < w) ? p[yy * w + xx] : fill;
    };
    return (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x0 + 1)) + ay * ((1 - ax) * at(y0 + 1, x0) + ax * at(y0 + 1, x0 + 1));
}

// Rotation about the centre by `degrees` clockwise (torchvision's affine convention: it maps
// every output pixel centre back into the source). `nearest` takes the source pixel that the
// point falls in (PIL's NEAREST, what RandomAffine uses on the authors' PIL images); otherwise
// bilinear. Points outside the source get `fill` (the authors: 255, i.e. white).
void rotate(Img v, float degrees, bool nearest, float fill) {
    const float th = degrees * kPi / 180.0f, cs = std::cos(th), sn = std::sin(th);
    const float cx = 0.5f * static_cast<float>(v.w), cy = 0.5f * static_cast<float>(v.h);
    std::vector<float> src(v.p, v.p + v.size());
    for (std::int64_t c = 0; c < v.c; ++c) {
        const float* s = &src[static_cast<std::size_t>(c * v.plane())];
        float* d = v.ch(c);
        for (std::int64_t y = 0; y < v.h; ++y)
            for (std::int64_t x = 0; x < v.w; ++x) {
                const float dx = static_cast<float>(x) + 0.5f - cx, dy = static_cast<float>(y) + 0.5f - cy;
                const float sx = cs * dx + sn * dy + cx, sy = -sn * dx + cs * dy + cy;  // continuous coordinates
                float& out = d[y * v.w + x];
                if (nearest) {
                    const float fx = std::floor(sx), fy = std::floor(sy);
                    const bool inside = fx >= 0 && fy >= 0 && fx < static_cast<float>(v.w) && fy < static_cast<float>(v.h);
                    out = inside ? s[static_cast<std::int64_t>(fy) * v.w + static_cast<std::int64_t>(fx)] : fill;
                } else {
                    out = sample_fill(s, v.h, v.w, sx - 0.5f, sy - 0.5f, fill);
                }
            }
    }
    clamp01(v);
}

// torchvision's RandomErasing (scale (0.02, 0.33), ratio (0.3, 3.3), value 0) given a tensor
// whose last three dimensions it takes for (C, H, W). The rectangle is `h` x `w` at (i, j) of
// the last two dimensions, filled in every index of the first; false when 10 tries find none.
bool erasing_params(std::int64_t dim_h, std::int64_t dim_w, RandomStream& rng, std::int64_t& i, std::int64_t& j,
                    std::int64_t& h, std::int64_t& w) {
    const double area = static_cast<double>(dim_h * dim_w);
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target = area * rng.uniform(0.02, 0.33);
        const double aspect = std::exp(rng.uniform(std::log(0.3), std::log(3.3)));
        h = static_cast<std::int64_t>(std::lround(std::sqrt(target * aspect)));
        w = static_cast<std::int64_t>(std::lround(std::sqrt(target / aspect)));
        if (!(h < dim_h && w < dim_w)) continue;
        i = rng.below(dim_h - h + 1);
        j = rng.below(dim_w - w + 1);
        return true;
    }
    return false;
}

// The authors' random erasing: RandomErasing applied to the image as an H x W x C uint8 tensor
// (their transform_PILtoTensor keeps PIL's channel-last layout), so torchvision reads it as
// C' = H rows, H' = W columns, W' = C channels. The "rectangle" therefore spans every row,
// `h` consecutive columns and w < 3, i.e. 1 or 2, channels: full-height column bands in one or
// two colour channels. 1-channel images went through it tiled to RGB and were averaged back,
// so there the band is scaled by (3 - w) / 3.
void erase_columns(Img v, RandomStream& rng) {
    std::int64_t col = 0, ch = 0, cols = 0, chans = 0;
    if (!erasing_params(v.w, 3, rng, col, ch, cols, chans)) return;
    for (std::int64_t c = 0; c < v.c; ++c) {
        float scale = 0.0f;
        if (v.c == 1) scale = static_cast<float>(3 - chans) / 3.0f;
        else if (c < ch || c >= ch + chans) continue;
        for (std::int64_t y = 0; y < v.h; ++y)
            for (std::int64_t x = col; x < col + cols; ++x) v.ch(c)[y * v.w + x] *= scale;
    }
}

// torchvision RandomErasing as documented (on a C x H x W tensor, value 0): one rectangle in
// every channel; unchanged if no rectangle fits in 10 tries. Kept as `erasing_rect`.
void erase_rect(Img v, RandomStream& rng) {
    std::int64_t top = 0, left = 0, h = 0, w = 0;
    if (!erasing_params(v.h, v.w, rng, top, left, h, w) || h <= 0 || w <= 0) return;
    for (std::int64_t c = 0; c < v.c; ++c)
        for (std::int64_t y = top; y < top + h; ++y) std::fill_n(v.ch(c) + y * v.w + left, w, 0.0f);
}

// torchvision RandomResizedCrop: area fraction U[lo, hi], log-uniform aspect in [3/4, 4/3],
// 10 tries then a centre crop; the crop is resized back to H x W bilinearly.
void resized_crop(Img v, RandomStream& rng, double lo, double hi) {
    const double area = static_cast<double>(v.h * v.w);
    const double lr0 = std::log(3.0 / 4.0), lr1 = std::log(4.0 / 3.0);
    std::int64_t ch = v.h, cw = v.w, top = 0, left = 0;
    bool found = false;
    for (int attempt = 0; attempt < 10 && !found; ++attempt) {
        const double target = area * rng.uniform(lo, hi);
        const double aspect = std::exp(rng.uniform(lr0, lr1));
        const auto w = static_cast<std::int64_t>(std::lround(std::sqrt(target * aspect)));
        const auto h = static_cast<std::int64_t>(std::lround(std::sqrt(target / aspect)));
        if (w > 0 && w <= v.w && h > 0 && h <= v.h) {
            ch = h;
            cw = w;
            top = rng.below(v.h - h + 1);
            left = rng.below(v.w - w + 1);
            found = true;
        }
    }
    if (!found) {
        const double ratio = static_cast<double>(v.w) / static_cast<double>(v.h);
        if (ratio < 3.0 / 4.0) {
            cw = v.w;
            ch = std::lround(static_cast<double>(cw) / (3.0 / 4.0));
        } else if (ratio > 4.0 / 3.0) {
            ch = v.h;
            cw = std::lround(static_cast<double>(ch) * (4.0 / 3.0));
        }
        ch = std::min(ch, v.h);
        cw = std::min(cw, v.w);
        top = (v.h - ch) / 2;
        left = (v.w - cw) / 2;
    }
    const Resampler r(ch, cw, v.h, v.w);
    std::vector<float> crop(static_cast<std::size_t>(ch * cw));
    for (std::int64_t c = 0; c < v.c; ++c) {
        for (std::int64_t y = 0; y < ch; ++y)
            std::copy_n(v.ch(c) + (top + y) * v.w + left, cw, &crop[static_cast<std::size_t>(y * cw)]);
        r.apply(crop.data(), v.ch(c));
    }
    clamp01(v);
}

// torchvision ColorJitter(0.4, 0.4, 0.4, 0.1): every factor drawn, applied in random order.
void color_jitter(Img v, RandomStream& rng) {
    std::array<int, 4> order = {0, 1, 2, 3};
    rng.shuffle(order);
    const float fb = static_cast<float>(rng.uniform(0.6, 1.4)), fc = static_cast<float>(rng.uniform(0.6, 1.4));
    const float fs = static_cast<float>(rng.uniform(0.6, 1.4)), fh = static_cast<float>(rng.uniform(-0.1, 0.1));
    for (int op : order) {
        if (op == 0) brightness(v, fb);
        else if (op == 1) contrast(v, fc);
        else if (op == 2) saturation(v, fs);
        else hue(v, fh);
    }
}

// The authors' "simsiam" set (transforms_utils.py), in their Compose order: crop area
// U[0.6, 1]; hflip p 0.5; colour jitter p 0.3; grayscale p 0.2; blur kernel 3, sigma U[1, 2],
// p 0.2.
void simsiam(Img v, RandomStream& rng) {
    resized_crop(v, rng, 0.6, 1.0);
    if (rng.unit() < 0.5) hflip(v);
    if (rng.unit() < 0.3) color_jitter(v, rng);
    if (rng.unit() < 0.2) grayscale(v);
    if (rng.unit() < 0.2) blur(v, static_cast<float>(rng.uniform(1.0, 2.0)), 3);
}

// SimSiam's own recipe (Chen & He 2021), kept as `simsiam_paper`: crop area U[0.2, 1]; colour
// jitter p 0.8; grayscale p 0.2; blur sigma U[0.1, 2] p 0.5; hflip p 0.5.
void simsiam_paper(Img v, RandomStream& rng) {
    resized_crop(v, rng, 0.2, 1.0);
    if (rng.unit() < 0.8) color_jitter(v, rng);
    if (rng.unit() < 0.2) grayscale(v);
    if (rng.unit() < 0.5) blur(v, static_cast<float>(rng.uniform(0.1, 2.0)));
    if (rng.unit() < 0.5) hflip(v);
}

struct Named {
    Augmentation a;
    const char* name;
};
constexpr Named kNames[] = {
    {Augmentation::blur, "blur"},
    {Augmentation::high_contrast, "high_contrast"},
    {Augmentation::crop, "crop"},
    {Augmentation::high_saturation, "high_saturation"},
    {Augmentation::hflip, "hflip"},
    {Augmentation::vflip, "vflip"},
    {Augmentation::rotation, "rotation"},
    {Augmentation::erasing, "erasing"},
    {Augmentation::hue, "hue"},
    {Augmentation::brightness_low, "brightness_low"},
    {Augmentation::brightness_high, "brightness_high"},
    {Augmentation::contrast_low, "contrast_low"},
    {Augmentation::grayscale, "grayscale"},
    {Augmentation::simsiam, "simsiam"},
    {Augmentation::rotation_bilinear, "rotation_bilinear"},
    {Augmentation::erasing_rect, "erasing_rect"},
    {Augmentation::simsiam_paper, "simsiam_paper"},
};
// The names in the authors' transforms_utils.py (AUGS_DICT), accepted as synonyms.
constexpr Named kAuthorsNames[] = {
    {Augmentation::blur, "gblurr"},
    {Augmentation::high_saturation, "high_satur"},
    {Augmentation::hflip, "h_flip"},
    {Augmentation::vflip, "v_flip"},
    {Augmentation::rotation, "affine"},
    {Augmentation::erasing, "random_erasing"},
    {Augmentation::hue, "hue_rot"},
    {Augmentation::brightness_low, "low_bright"},
    {Augmentation::brightness_high, "high_bright"},
    {Augmentation::contrast_low, "low_contrast"},
};

bool is_single_authors_transform(Augmentation a) {
    return a != Augmentation::simsiam && a != Augmentation::simsiam_paper && a != Augmentation::rotation_bilinear &&
           a != Augmentation::erasing_rect;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

void rotate_image(float* image, std::int64_t c, std::int64_t h, std::int64_t w, float degrees, bool nearest,
                  float fill) {
    rotate(Img{image, c, h, w}, degrees, nearest, fill);
}

const char* augmentation_name(Augmentation a) {
    for (const auto& n : kNames)
        if (n.a == a) return n.name;
    return "?";
}

const std::vector<Augmentation>& all_augmentations() {
    static const std::vector<Augmentation> all = [] {
        std::vector<Augmentation> v;
        for (const auto& n : kNames) v.push_back(n.a);
        return v;
    }();
    return all;
}

std::vector<Augmentation> default_augmentations() {
    return {Augmentation::blur, Augmentation::high_contrast, Augmentation::crop, Augmentation::high_saturation};
}

std::vector<Augmentation> parse_augmentations(const std::string& list) {
    std::vector<Augmentation> out;
    auto add = [&](Augmentation a) {
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    };
    std::size_t p = 0;
    while (p <= list.size()) {
        auto q = list.find(',', p);
        std::string name = trim(list.substr(p, q == std::string::npos ? std::string::npos : q - p));
        p = q == std::string::npos ? list.size() + 1 : q + 1;
        if (name.empty()) continue;
        if (name == "default") {
            for (auto a : default_augmentations()) add(a);
            continue;
        }
        if (name == "all") {
            for (auto a : all_augmentations())
                if (is_single_authors_transform(a)) add(a);
            continue;
        }
        bool found = false;
        for (const auto& n : kNames)
            if (name == n.name) {
                add(n.a);
                found = true;
            }
        for (const auto& n : kAuthorsNames)
            if (name == n.name) {
                add(n.a);
                found = true;
            }
        if (!found) {
            std::string valid = "default, all";
            for (const auto& n : kNames) {
                valid += ", ";
                valid += n.name;
            }
            valid += "; the authors' names";
            for (const auto& n : kAuthorsNames) {
                valid += n.a == kAuthorsNames[0].a ? " " : ", ";
                valid += n.name;
            }
            fail("unknown augmentation '{}' (valid: {})", name, valid);
        }
    }
    DCODR_CHECK(!out.empty(), "augmentation list '{}' is empty (e.g. 'default' or 'blur,crop')", list);
    return out;
}

std::string augmentation_list_str(const std::vector<Augmentation>& set) {
    std::string s;
    for (auto a : set) {
        if (!s.empty()) s += ',';
        s += augmentation_name(a);
    }
    return s;
}

void apply_augmentation(Augmentation a, float* image, std::int64_t c, std::int64_t h, std::int64_t w,
                        RandomStream& rng) {
    Img v{image, c, h, w};
    switch (a) {
        case Augmentation::blur: blur(v, 1.0f); break;
        case Augmentation::high_contrast: contrast(v, static_cast<float>(rng.uniform(1.8, 3.0))); break;
        case Augmentation::crop: resized_crop(v, rng, 0.5, 1.0); break;
        case Augmentation::high_saturation: saturation(v, static_cast<float>(rng.uniform(1.8, 3.0))); break;
        case Augmentation::hflip: hflip(v); break;
        case Augmentation::vflip: vflip(v); break;
        case Augmentation::rotation: rotate(v, static_cast<float>(rng.uniform(-40.0, 40.0)), true, 1.0f); break;
        case Augmentation::erasing: erase_columns(v, rng); break;
        case Augmentation::hue: {
            // RandomChoice of ColorJitter(hue=(0.2, 0.5)) and ColorJitter(hue=(-0.5, -0.2))
            const double sign = rng.unit() < 0.5 ? 1.0 : -1.0;
            hue(v, static_cast<float>(sign * rng.uniform(0.2, 0.5)));
            break;
        }
        case Augmentation::brightness_low: brightness(v, static_cast<float>(rng.uniform(0.2, 0.6))); break;
        case Augmentation::brightness_high: brightness(v, static_cast<float>(rng.uniform(1.4, 1.8))); break;
        case Augmentation::contrast_low: contrast(v, static_cast<float>(rng.uniform(0.3, 0.8))); break;
        case Augmentation::grayscale: grayscale(v); break;
        case Augmentation::simsiam: simsiam(v, rng); break;
        case Augmentation::rotation_bilinear: rotate(v, static_cast<float>(rng.uniform(-40.0, 40.0)), false, 0.0f); break;
        case Augmentation::erasing_rect: erase_rect(v, rng); break;
        case Augmentation::simsiam_paper: simsiam_paper(v, rng); break;
    }
    clamp01(v);  // also covers inputs that were slightly outside [0, 1] (flips do not clamp)
}

Augmenter::Augmenter(std::vector<Augmentation> set, std::uint64_t seed) : set_(std::move(set)), seed_(seed) {
    DCODR_CHECK(!set_.empty(), "Augmenter: the augmentation set is empty");
}

void Augmenter::apply_inplace(float* data, std::int64_t batch, std::int64_t c, std::int64_t h, std::int64_t w,
                              std::uint64_t step, std::vector<Augmentation>* chosen) const {
    DCODR_CHECK(c == 1 || c == 3, "augment: expected 1 or 3 channels, got {}", c);
    if (chosen) chosen->assign(static_cast<std::size_t>(batch), set_.front());
    const std::uint64_t key = mix64(mix64(seed_, 0xA06E), step);
#pragma omp parallel for schedule(dynamic, 4)
    for (std::int64_t b = 0; b < batch; ++b) {
        RandomStream rng(mix64(key, static_cast<std::uint64_t>(b)));
        const Augmentation a = set_[static_cast<std::size_t>(rng.below(static_cast<std::int64_t>(set_.size())))];
        if (chosen) (*chosen)[static_cast<std::size_t>(b)] = a;
        apply_augmentation(a, data + b * c * h * w, c, h, w, rng);
    }
}

Tensor Augmenter::apply(const Tensor& batch, std::uint64_t step, std::vector<Augmentation>* chosen) const {
    DCODR_CHECK(batch.dim() == 4, "augment: expected a batch [B, C, H, W], got shape {}", shape_str(batch.shape()));
    Tensor out = batch.to(Device::cpu()).to(DType::f32).clone();
    apply_inplace(out.data<float>(), out.size(0), out.size(1), out.size(2), out.size(3), step, chosen);
    return out;
}

}  // namespace dcodr::data
