// Images on the host as float [C, H, W] in [0, 1]: decode (PNG/JPEG via stb), resize, channel
// conversion, PNG encode, and image grids for reconstruction / domain-swap figures.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr::data {

struct Image {
    std::int64_t channels = 0, height = 0, width = 0;
    std::vector<float> pixels;  // [C, H, W], values in [0, 1]

    Image() = default;
    Image(std::int64_t c, std::int64_t h, std::int64_t w, float fill = 0.0f)
        : channels(c), height(h), width(w), pixels(static_cast<std::size_t>(c * h * w), fill) {}
    float& at(std::int64_t c, std::int64_t y, std::int64_t x) { return pixels[static_cast<std::size_t>((c * height + y) * width + x)]; }
    float at(std::int64_t c, std::int64_t y, std::int64_t x) const { return pixels[static_cast<std::size_t>((c * height + y) * width + x)]; }
};

// Decodes PNG, JPEG, BMP or PNM. Grayscale (with or without alpha) gives 1 channel, colour
// gives 3 (alpha is dropped). `name` is used in error messages.
// What an encoded image's header says, after every structure check (data/jpeg_checks.h,
// png_checks.h, image_limits.h): the size and channels stb would decode. Throws naming `name`.
struct ImageHeader {
    int width = 0, height = 0, channels = 0;
};
ImageHeader read_image_header(const std::uint8_t* bytes, std::size_t size, const std::string& name);
Image decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name);
Image load_image(const std::string& path);

// PNG of a 1- or 3-channel image; values are clamped to [0, 1] and rounded to 8 bits.
std::vector<std::uint8_t> encode_png(const Image& image);
void save_png(const std::string& path, const Image& image);

// x / 255.0f for every byte value (a table: the same floats as dividing, without the division).
const float* byte_to_unit_table();

// uint8 interleaved [H, W, C] <-> Image (x / 255 and round(clamp(x) * 255)).
Image image_from_hwc(const std::uint8_t* hwc, std::int64_t height, std::int64_t width, std::int64_t channels);
std::vector<std::uint8_t> image_to_hwc(const Image& image);

// Separable resampling of one [H, W] plane: per axis, area averaging when shrinking (no
// aliasing on 2x/4x downsizing), bilinear with half-pixel centres (PyTorch align_corners=False)
// when enlarging, a copy when the size is unchanged. Built once per size pair, reused per plane.
class Resampler {
public:
    Resampler(std::int64_t in_h, std::int64_t in_w, std::int64_t out_h, std::int64_t out_w);
    // dst: out_h * out_w floats; src: in_h * in_w floats.
    void apply(const float* src, float* dst) const;
    bool identity() const { return in_h_ == out_h_ && in_w_ == out_w_; }
    std::int64_t in_plane() const { return in_h_ * in_w_; }
    std::int64_t out_plane() const { return out_h_ * out_w_; }

    struct Taps {  // for output position o: (index[k], weight[k]) for k in [start[o], start[o+1])
        std::vector<std::int64_t> start, index;
        std::vector<float> weight;
    };

private:
    std::int64_t in_h_, in_w_, out_h_, out_w_;
    Taps rows_, cols_;
};

Image resize(const Image& image, std::int64_t height, std::int64_t width);

// One image's model input: `planar` [in_channels, H, W] in [0, 1] (the resampler's input size),
// each plane resized by `resampler`, then gray tiled to 3 channels or colour taken to luma when
// out_channels differs. `scratch` holds in_channels * out_plane floats; `dst` out_channels *
// out_plane. load_batch (dcodr encode, training) and the C API both preprocess through here.
void planar_to_input(const float* planar, std::int64_t in_channels, const Resampler& resampler,
                     std::int64_t out_channels, float* scratch, float* dst);

// 1 -> 3 tiles the gray plane; 3 -> 1 takes luma (ITU-R 601: 0.299 R + 0.587 G + 0.114 B);
// equal counts copy. Anything else is an error.
Image convert_channels(const Image& image, std::int64_t channels);

// Tensor [C, H, W] (float32/float64, any device) <-> Image.
Image image_from_tensor(const Tensor& chw);
Tensor image_to_tensor(const Image& image);

// Tiles a batch [N, C, H, W] (float, [0, 1]) into one image of `columns` columns, with
// `padding` pixels of `background` between and around tiles. 1-channel batches stay gray.
Image make_grid(const Tensor& batch, std::int64_t columns, std::int64_t padding = 2, float background = 1.0f);
void save_image_grid(const std::string& path, const Tensor& batch, std::int64_t columns,
                     std::int64_t padding = 2, float background = 1.0f);

}  // namespace dcodr::data
