#include "data/image.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include <stb_image.h>
#include <stb_image_write.h>

#include "data/file_checks.h"
#include "data/file_io.h"
#include "data/image_limits.h"
#include "data/jpeg_checks.h"
#include "data/png_checks.h"
#include "tensor/error.h"

namespace dcodr::data {

ImageHeader read_image_header(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
    DCODR_CHECK(size > 0, "cannot decode image '{}': the file is empty", name);
    DCODR_CHECK(size <= 0x7fffffff, "cannot decode image '{}': {} bytes is too large", name, size);
    // Before stb parses anything: stb trusts what headers claim (docs/reliability.md).
    check_jpeg(bytes, size, name);        // truncated data, undefined tables, Huffman overflow
    check_png(bytes, size, name);         // chunk lengths past the end of the file
    check_pnm_header(bytes, size, name);  // numbers that overflow stb's int
    ImageHeader h;
    DCODR_CHECK(stbi_info_from_memory(bytes, static_cast<int>(size), &h.width, &h.height, &h.channels),
                "cannot decode image '{}': {}", name, undecodable_reason(bytes, size, stbi_failure_reason()));
    check_image_dimensions(h.width, h.height, name);
    check_uncompressed_size(bytes, size, h.width, h.height, name);
    return h;
}

Image decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
    ImageHeader header = read_image_header(bytes, size, name);
    int w = 0, h = 0, n = 0;
    int want = header.channels <= 2 ? 1 : 3;  // drop alpha: the model sees gray or RGB only
    unsigned char* px = stbi_load_from_memory(bytes, static_cast<int>(size), &w, &h, &n, want);
    DCODR_CHECK(px, "cannot decode image '{}': {}", name, stbi_failure_reason());
    Image img = image_from_hwc(px, h, w, want);
    stbi_image_free(px);
    return img;
}

Image load_image(const std::string& path) {
    require_regular_file(path, "image file");
    auto bytes = read_file(path);
    return decode_image(bytes.data(), bytes.size(), path);
}

const float* byte_to_unit_table() {
    static const auto table = [] {
        std::array<float, 256> t{};
        for (int i = 0; i < 256; ++i) t[i] = static_cast<float>(i) / 255.0f;
        return t;
    }();
    return table.data();
}

Image image_from_hwc(const std::uint8_t* hwc, std::int64_t height, std::int64_t width, std::int64_t channels) {
    Image img(channels, height, width);
    const float* unit = byte_to_unit_table();
    for (std::int64_t y = 0; y < height; ++y)
        for (std::int64_t x = 0; x < width; ++x)
            for (std::int64_t c = 0; c < channels; ++c)
                img.at(c, y, x) = unit[hwc[(y * width + x) * channels + c]];
    return img;
}

static std::uint8_t to_byte(float v) {
    if (!(v > 0.0f)) return 0;  // also maps NaN to 0
    if (v >= 1.0f) return 255;
    return static_cast<std::uint8_t>(std::lround(v * 255.0f));
}

std::vector<std::uint8_t> image_to_hwc(const Image& img) {
    std::vector<std::uint8_t> out(img.pixels.size());
    for (std::int64_t y = 0; y < img.height; ++y)
        for (std::int64_t x = 0; x < img.width; ++x)
            for (std::int64_t c = 0; c < img.channels; ++c)
                out[(y * img.width + x) * img.channels + c] = to_byte(img.at(c, y, x));
    return out;
}

static void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    auto* p = static_cast<std::uint8_t*>(data);
    out->insert(out->end(), p, p + size);
}

std::vector<std::uint8_t> encode_png(const Image& img) {
    DCODR_CHECK(img.channels == 1 || img.channels == 3 || img.channels == 4,
                "encode_png: expected 1, 3 or 4 channels, got {}", img.channels);
    DCODR_CHECK(img.height > 0 && img.width > 0, "encode_png: empty image ({}x{})", img.height, img.width);
    auto hwc = image_to_hwc(img);
    std::vector<std::uint8_t> png;
    int ok = stbi_write_png_to_func(append_bytes, &png, static_cast<int>(img.width), static_cast<int>(img.height),
                                    static_cast<int>(img.channels), hwc.data(),
                                    static_cast<int>(img.width * img.channels));
    DCODR_CHECK(ok, "encode_png: stb failed to encode a {}x{}x{} image", img.height, img.width, img.channels);
    return png;
}

void save_png(const std::string& path, const Image& img) {
    auto png = encode_png(img);
    write_file(path, png);
}

// ---- resampling ----

static Resampler::Taps make_taps(std::int64_t in, std::int64_t out) {
    Resampler::Taps t;
    t.start.push_back(0);
    const double ratio = static_cast<double>(in) / static_cast<double>(out);
    for (std::int64_t o = 0; o < out; ++o) {
        if (in == out) {
            t.index.push_back(o);
            t.weight.push_back(1.0f);
        } else if (out < in) {
            // Area: output o covers source interval [o*ratio, (o+1)*ratio).
            double lo = o * ratio, hi = (o + 1) * ratio;
            auto first = static_cast<std::int64_t>(std::floor(lo));
            auto last = std::min<std::int64_t>(in - 1, static_cast<std::int64_t>(std::ceil(hi)) - 1);
            for (std::int64_t i = first; i <= last; ++i) {
                double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
                if (overlap <= 0) continue;
                t.index.push_back(i);
                t.weight.push_back(static_cast<float>(overlap / ratio));
            }
        } else {
            double src = std::max(0.0, (o + 0.5) * ratio - 0.5);
            auto i0 = std::min<std::int64_t>(static_cast<std::int64_t>(src), in - 1);
            std::int64_t i1 = std::min<std::int64_t>(i0 + 1, in - 1);
            float l = static_cast<float>(src - static_cast<double>(i0));
            t.index.push_back(i0);
            t.weight.push_back(1.0f - l);
            if (i1 != i0) {
                t.index.push_back(i1);
                t.weight.push_back(l);
            } else {
                t.weight.back() = 1.0f;
            }
        }
        t.start.push_back(static_cast<std::int64_t>(t.index.size()));
    }
    return t;
}

Resampler::Resampler(std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w)
    : in_h_(in_h), in_w_(in_w), out_h_(out_h), out_w_(out_w) {
    DCODR_CHECK(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0, "resize: sizes must be positive, got {}x{} -> {}x{}",
                in_h, in_w, out_h, out_w);
    rows_ = make_taps(in_h, out_h);
    cols_ = make_taps(in_w, out_w);
}

void Resampler::apply(const float* src, float* dst) const {
    if (identity()) {
        std::copy(src, src + in_h_ * in_w_, dst);
        return;
    }
    // Rows first (out_h x in_w intermediate), then columns.
    std::vector<float> tmp(static_cast<std::size_t>(out_h_ * in_w_), 0.0f);
    for (std::int64_t o = 0; o < out_h_; ++o) {
        float* t = &tmp[static_cast<std::size_t>(o * in_w_)];
        for (std::int64_t k = rows_.start[o]; k < rows_.start[o + 1]; ++k) {
            const float* s = src + rows_.index[k] * in_w_;
            float w = rows_.weight[k];
            for (std::int64_t x = 0; x < in_w_; ++x) t[x] += w * s[x];
        }
    }
    for (std::int64_t y = 0; y < out_h_; ++y) {
        const float* t = &tmp[static_cast<std::size_t>(y * in_w_)];
        float* d = dst + y * out_w_;
        for (std::int64_t o = 0; o < out_w_; ++o) {
            float acc = 0.0f;
            for (std::int64_t k = cols_.start[o]; k < cols_.start[o + 1]; ++k) acc += cols_.weight[k] * t[cols_.index[k]];
            d[o] = acc;
        }
    }
}

Image resize(const Image& img, std::int64_t height, std::int64_t width) {
    if (img.height == height && img.width == width) return img;
    Resampler r(img.height, img.width, height, width);
    Image out(img.channels, height, width);
    for (std::int64_t c = 0; c < img.channels; ++c)
        r.apply(&img.pixels[static_cast<std::size_t>(c * img.height * img.width)],
                &out.pixels[static_cast<std::size_t>(c * height * width)]);
    return out;
}

void planar_to_input(const float* planar, std::int64_t in_channels, const Resampler& resampler,
                     std::int64_t out_channels, float* scratch, float* dst) {
    const std::int64_t in_plane = resampler.in_plane(), out_plane = resampler.out_plane();
    for (std::int64_t c = 0; c < in_channels; ++c) resampler.apply(planar + c * in_plane, scratch + c * out_plane);
    if (out_channels == in_channels) {
        std::copy(scratch, scratch + in_channels * out_plane, dst);
    } else if (in_channels == 1) {  // 3: tile gray
        for (std::int64_t c = 0; c < out_channels; ++c) std::copy(scratch, scratch + out_plane, dst + c * out_plane);
    } else {  // 3 -> 1: luma
        for (std::int64_t p = 0; p < out_plane; ++p)
            dst[p] = 0.299f * scratch[p] + 0.587f * scratch[out_plane + p] + 0.114f * scratch[2 * out_plane + p];
    }
}

Image convert_channels(const Image& img, std::int64_t channels) {
    if (img.channels == channels) return img;
    const std::int64_t plane = img.height * img.width;
    Image out(channels, img.height, img.width);
    if (img.channels == 1 && channels == 3) {
        for (std::int64_t c = 0; c < 3; ++c) std::copy(img.pixels.begin(), img.pixels.end(), out.pixels.begin() + c * plane);
        return out;
    }
    if (img.channels == 3 && channels == 1) {
        for (std::int64_t i = 0; i < plane; ++i)
            out.pixels[i] = 0.299f * img.pixels[i] + 0.587f * img.pixels[plane + i] + 0.114f * img.pixels[2 * plane + i];
        return out;
    }
    fail("convert_channels: cannot convert {} channels to {} (supported: 1<->3)", img.channels, channels);
}

// ---- tensors and grids ----

Image image_from_tensor(const Tensor& chw) {
    DCODR_CHECK(chw.dim() == 3, "image_from_tensor: expected [C, H, W], got shape {}", shape_str(chw.shape()));
    Image img;
    img.channels = chw.size(0);
    img.height = chw.size(1);
    img.width = chw.size(2);
    img.pixels = chw.to_float_vector();
    return img;
}

Tensor image_to_tensor(const Image& img) {
    return Tensor::from_vector(img.pixels, {img.channels, img.height, img.width});
}

Image make_grid(const Tensor& batch, std::int64_t columns, std::int64_t padding, float background) {
    DCODR_CHECK(batch.dim() == 4, "make_grid: expected a batch [N, C, H, W], got shape {}", shape_str(batch.shape()));
    DCODR_CHECK(columns > 0 && padding >= 0, "make_grid: columns must be > 0 and padding >= 0 (got {}, {})",
                columns, padding);
    const std::int64_t n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
    DCODR_CHECK(n > 0, "make_grid: the batch is empty");
    DCODR_CHECK(c == 1 || c == 3, "make_grid: expected 1 or 3 channels, got {}", c);
    const std::int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
    Image grid(c, rows * (h + padding) + padding, cols * (w + padding) + padding, background);
    auto px = batch.to_float_vector();
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t top = padding + (i / cols) * (h + padding), left = padding + (i % cols) * (w + padding);
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t y = 0; y < h; ++y)
                for (std::int64_t x = 0; x < w; ++x)
                    grid.at(ch, top + y, left + x) = px[static_cast<std::size_t>(((i * c + ch) * h + y) * w + x)];
    }
    return grid;
}

void save_image_grid(const std::string& path, const Tensor& batch, std::int64_t columns, std::int64_t padding,
                     float background) {
    save_png(path, make_grid(batch, columns, padding, background));
}

}  // namespace dcodr::data
