#include "method/reconstruction_loss.h"

#include "nn/init.h"

namespace dcodr::method {

PerceptualMode parse_perceptual_mode(const std::string& name) {
    if (name == "vgg16") return PerceptualMode::vgg16;
    if (name == "pixel") return PerceptualMode::pixel;
    fail("unknown perceptual loss '{}': expected vgg16 or pixel", name);
}

const char* perceptual_mode_name(PerceptualMode mode) { return mode == PerceptualMode::vgg16 ? "vgg16" : "pixel"; }

const std::vector<std::int64_t>& ReconstructionLoss::vgg_taps() {
    static const std::vector<std::int64_t> taps = {3, 8, 13, 22, 30};
    return taps;
}

ReconstructionLoss::ReconstructionLoss(const PerceptualOptions& options, Device device, DType dtype)
    : options_(options) {
    if (options_.mode != PerceptualMode::vgg16) return;
    // Random weights come from their own seed, so building the loss never shifts the stream the
    // models were initialised from (nor depends on what was built before it).
    nn::Generator saved = nn::default_generator();
    nn::manual_seed(options_.seed ^ 0x5647473136ULL);  // "VGG16"
    vgg_ = std::make_unique<nn::Vgg16Features>(options_.vgg_width);
    nn::default_generator() = saved;
    if (!options_.weights.empty()) nn::load_vgg16_weights(*vgg_, options_.weights);
    vgg_->to(dtype);
    vgg_->to(device);
    vgg_->eval();
}

Tensor ReconstructionLoss::operator()(const Tensor& x_hat, const Tensor& x) {
    DCODR_CHECK(x_hat.shape() == x.shape(), "reconstruction loss: generated {} vs target {}",
                shape_str(x_hat.shape()), shape_str(x.shape()));
    DCODR_CHECK(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3),
                "reconstruction loss: expected images [B, 1 or 3, H, W], got {}", shape_str(x.shape()));
    Tensor loss = l1_loss(x_hat, x);
    terms_ = {loss.detach()};
    if (!vgg_) return loss;
    auto rgb = [](const Tensor& t) { return t.size(1) == 3 ? t : expand(t, {t.size(0), 3, t.size(2), t.size(3)}); };
    std::vector<Tensor> target;
    {
        NoGradGuard no_grad;  // the target's features are constants
        target = vgg_->taps(rgb(x.detach()), vgg_taps());
    }
    std::vector<Tensor> generated = vgg_->taps(rgb(x_hat), vgg_taps());
    for (std::size_t l = 0; l < generated.size(); ++l) {
        Tensor term = l1_loss(generated[l], target[l]);
        terms_.push_back(term.detach());
        loss = add(loss, term);
    }
    return loss;
}

std::string ReconstructionLoss::describe() const {
    if (!vgg_) return "reconstruction loss: pixel L1 only (no perceptual features)";
    if (!options_.weights.empty())
        return fmt::format("reconstruction loss: pixel L1 + VGG16 features (weights {})", options_.weights);
    return fmt::format("reconstruction loss: pixel L1 + VGG16 features with frozen seeded RANDOM weights{} "
                       "(ImageNet weights not given: --perceptual-weights FILE)",
                       options_.vgg_width < 1 ? fmt::format(" at width {}", options_.vgg_width) : "");
}

}  // namespace dcodr::method
