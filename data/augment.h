// The positive augmentations of DCoDR (method doc, "Positive augmentations"): for every image
// of a batch exactly one transform is drawn uniformly from a configurable set and applied.
// Host-side, on float [B, C, H, W] in [0, 1] (C = 1 or 3), parallel over the batch; outputs
// are clamped to [0, 1]. Randomness comes from Philox keyed by (seed, step, image index), so a
// batch is reproducible from (seed, step) alone, whatever the thread count.
//
// Parameters (torchvision semantics where the transform exists there):
//   blur             Gaussian, kernel 5, sigma 1, reflect padding
//   high_contrast    factor U[1.8, 3.0], blend with the image's mean gray level
//   crop             random resized crop: area U[0.5, 1.0], aspect ratio in [3/4, 4/3]
//                    (log-uniform), bilinear back to full size (torchvision's 10 tries + centre)
//   high_saturation  factor U[1.8, 3.0], blend with the per-pixel grayscale
//   hflip, vflip     mirror (always, when drawn)
//   rotation         angle U[-40, 40] degrees about the centre, bilinear, black outside
//   erasing          random rectangle set to 0: area U[0.02, 0.33], aspect log-U[0.3, 3.3]
//   hue              hue rotation by U[-0.5, 0.5] turns (HSV)
//   brightness_low   multiply by U[0.35, 0.6];  brightness_high: by U[1.5, 2.0]
//   contrast_low     contrast factor U[0.35, 0.6]
//   grayscale        luma (0.299 R + 0.587 G + 0.114 B) in every channel
//   simsiam          SimSiam's composite: crop area U[0.2, 1]; p=0.8 colour jitter (brightness,
//                    contrast, saturation 0.4, hue 0.1, random order); p=0.2 grayscale;
//                    p=0.5 blur sigma U[0.1, 2]; p=0.5 hflip
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
};

const char* augmentation_name(Augmentation a);
const std::vector<Augmentation>& all_augmentations();
// The paper's default positive set: blur, high_contrast, crop, high_saturation.
std::vector<Augmentation> default_augmentations();
// Comma-separated names ("blur,crop"); "default" expands to the default set, "all" to every
// single transform (not simsiam). Unknown names give an error listing the valid names.
std::vector<Augmentation> parse_augmentations(const std::string& list);
std::string augmentation_list_str(const std::vector<Augmentation>& set);

// One transform on one image [C, H, W] in place (parameters drawn from rng).
void apply_augmentation(Augmentation a, float* image, std::int64_t channels, std::int64_t height, std::int64_t width,
                        RandomStream& rng);

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
