// DCoDR's reconstruction term: how far a generated image is from the clean image it encodes,
// in pixels and in the feature maps of a frozen VGG16 (the authors' "VGGDistance"):
//
//   L_rec = mean_b [ mean|x_hat - x| + sum_l mean|phi_l(x_hat) - phi_l(x)| ]
//
// phi = VGG16 `features` without input normalisation, tapped after relu1_2, relu2_2, relu3_2,
// relu4_3 and pool5 (module indices 3, 8, 13, 22, 30; the authors tap 2, 7, 12, 21, 30 but their
// in-place ReLUs overwrite those outputs, so what they compare is the ReLU's output). Grey
// images are tiled to 3 channels for VGG. Every sample has the same number of elements, so the
// per-sample means averaged over the batch are plain means over the batch.
#pragma once
#include <memory>
#include <string>

#include "nn/vgg.h"

namespace dcodr::method {

// What the perceptual part compares.
enum class PerceptualMode {
    vgg16,         // VGG16 features: ImageNet weights from a file, or frozen seeded random weights
    pixel,         // pixel L1 alone
};
// What --perceptual auto uses when no ImageNet VGG16 weights are given, chosen by measurement on
// the built-in data (docs/results.md, "Without ImageNet VGG16 weights").
inline constexpr PerceptualMode kPerceptualFallback = PerceptualMode::pixel;
PerceptualMode parse_perceptual_mode(const std::string& name);  // "vgg16" | "pixel"
const char* perceptual_mode_name(PerceptualMode mode);

struct PerceptualOptions {
    PerceptualMode mode = PerceptualMode::pixel;
    std::string weights;     // VGG16 state dict (torchvision names); empty = seeded random weights
    double vgg_width = 1.0;  // < 1 only for tests and random-feature experiments
    std::uint64_t seed = 0;  // for the random weights
};

class ReconstructionLoss {
public:
    ReconstructionLoss(const PerceptualOptions& options, Device device, DType dtype = DType::f32);
    // x_hat, x: [B, C, H, W] with C = 1 or 3; x is the target (no gradient flows to it).
    Tensor operator()(const Tensor& x_hat, const Tensor& x);
    // One line for the terminal: what the perceptual part is, and where its weights came from.
    std::string describe() const;
    static const std::vector<std::int64_t>& vgg_taps();
    nn::Vgg16Features* vgg() { return vgg_.get(); }  // null in pixel mode
    // The last call's terms, detached: pixel L1, then one per VGG tap (for tests and reports;
    // reading them on a GPU waits for the device).
    const std::vector<Tensor>& last_terms() const { return terms_; }

private:
    PerceptualOptions options_;
    std::unique_ptr<nn::Vgg16Features> vgg_;
    std::vector<Tensor> terms_;
};

}  // namespace dcodr::method
