// The positive augmentations of DCoDR (method doc, "Positive augmentations"): for every image
// of a batch exactly one transform is drawn uniformly from a configurable set and applied.
// Host-side, on float [B, C, H, W] in [0, 1] (C = 1 or 3), parallel over the batch; outputs
// are clamped to [0, 1]. Randomness comes from Philox keyed by (seed, step, image index), so a
// batch is reproducible from (seed, step) alone, whatever the thread count.
//
// Parameters: the authors' transforms_utils.py (AUGS_DICT; their names are accepted too), with
// torchvision semantics on their PIL images. 1-channel images behave as the authors' pipeline
// treats them (tiled to RGB, transformed, averaged back).
//   blur             (gblurr) Gaussian, kernel 5, sigma 1, reflect padding
//   high_contrast    factor U[1.8, 3.0], blend with the image's mean gray level
//   crop             random resized crop: area U[0.5, 1.0], aspect ratio in [3/4, 4/3]
//                    (log-uniform), bilinear back to full size (torchvision's 10 tries + centre)
//   high_saturation  (high_satur) factor U[1.8, 3.0], blend with the per-pixel grayscale
//   hflip, vflip     (h_flip, v_flip) mirror (always, when drawn)
//   rotation         (affine) RandomAffine(degrees=(-40, 40), fill=255): angle U[-40, 40]
//                    clockwise about the centre, nearest sampling, white outside
//   erasing          (random_erasing) RandomErasing on the H x W x C tensor the authors hand it:
//                    full-height column bands zeroed in 1 or 2 of the 3 channels
//   hue              (hue_rot) hue rotation by U[0.2, 0.5] turns, either direction (HSV)
//   brightness_low   (low_bright) multiply by U[0.2, 0.6];  brightness_high (high_bright): U[1.4, 1.8]
//   contrast_low     (low_contrast) contrast factor U[0.3, 0.8]
//   grayscale        luma (0.299 R + 0.587 G + 0.114 B) in every channel
//   simsiam          the authors' SimSiam set, in order: crop area U[0.6, 1]; hflip p 0.5;
//                    p 0.3 colour jitter (brightness, contrast, saturation 0.4, hue 0.1, random
//                    order); p 0.2 grayscale; p 0.2 blur kernel 3, sigma U[1, 2]
// Textbook variants, under their own names (not in "all"):
//   rotation_bilinear  same angles, bilinear, black outside
//   erasing_rect       RandomErasing as documented: one rectangle (area U[0.02, 0.33], aspect
//                      log-U[0.3, 3.3]) set to 0 in every channel
//   simsiam_paper      SimSiam's own recipe: crop area U[0.2, 1]; p 0.8 jitter; p 0.2 grayscale;
//                      p 0.5 blur sigma U[0.1, 2] (kernel 5); p 0.5 hflip
// Colour transforms leave 1-channel images unchanged where they have no gray meaning (hue,
// saturation, grayscale).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/rng.h"
#include "tensor/tensor.h"

namespace dcodr::data {

enum class Augmentation : std::uint8_t {
    blur, high_contrast, crop, high_saturation, hflip, vflip, rotation, erasing, hue,
    brightness_low, brightness_high, contrast_low, grayscale, simsiam,
    rotation_bilinear, erasing_rect, simsiam_paper,
};

const char* augmentation_name(Augmentation a);
const std::vector<Augmentation>& all_augmentations();
// The paper's default positive set: blur, high_contrast, crop, high_saturation.
std::vector<Augmentation> default_augmentations();
// Comma-separated names ("blur,crop", or the authors' "gblurr,affine"); "default" expands to the
// default set, "all" to the authors' 13 single transforms (not the composites, not the textbook
// variants). Unknown names give an error listing the valid names.
std::vector<Augmentation> parse_augmentations(const std::string& list);
std::string augmentation_list_str(const std::vector<Augmentation>& set);

// One transform on one image [C, H, W] in place (parameters drawn from rng).
void apply_augmentation(Augmentation a, float* image, std::int64_t channels, std::int64_t height, std::int64_t width,
                        RandomStream& rng);

// Rotates one image [C, H, W] in place by `degrees` clockwise (see "rotation"); for tests.
void rotate_image(float* image, std::int64_t channels, std::int64_t height, std::int64_t width, float degrees,
                  bool nearest, float fill);

class Augmenter {
public:
    Augmenter(std::vector<Augmentation> set, std::uint64_t seed);

    // A new float32 CPU tensor: one drawn transform per image. `chosen` (optional) receives
    // the transform applied to each image.
    Tensor apply(const Tensor& batch, std::uint64_t step, std::vector<Augmentation>* chosen = nullptr) const;
    // In place on B * C * H * W contiguous floats.
    void apply_inplace(float* data, std::int64_t batch, std::int64_t channels, std::int64_t height,
                       std::int64_t width, std::uint64_t step, std::vector<Augmentation>* chosen = nullptr) const;
    const std::vector<Augmentation>& set() const { return set_; }

private:
    std::vector<Augmentation> set_;
    std::uint64_t seed_;
};

}  // namespace dcodr::data
