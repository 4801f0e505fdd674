// DCoDR's decoder: the LORD generator the authors use, which rebuilds an image from its content
// code plus a learned latent of the domain it should be drawn in.
//
//   domain id --Embedding--> d [B, domain_dim]
//   d --4 x Linear(domain_dim -> 2 * channels)--> per block i: AdaIN shift_i, scale_i [B, channels]
//   code [B, code_dim] --fc_layers--> [B, channels, s/16, s/16]
//     4 x [upsample x2 -> Conv3x3 -> LeakyReLU -> AdaIN_i]       (s/8, s/4, s/2, s)
//     last_conv_layers: Conv5x5 -> 64 -> LeakyReLU [-> Conv5x5 64->64 -> LeakyReLU at 128 px]
//                       -> Conv7x7 -> image channels -> Sigmoid
//
// Module names follow the authors' PyTorch modules (class_embedding, modulation.adain_per_layer.i,
// generator.fc_layers.{0,2,4}, generator.adain_conv_layers.{1,5,9,13}, generator.last_conv_layers.N),
// so a state dict moves between the two by name.
#pragma once
#include "nn/layers.h"

namespace dcodr::nn {

struct GeneratorConfig {
    std::int64_t code_dim = 128;      // the content code: the encoder's (normalised) output
    std::int64_t n_domains = 2;       // rows of the domain embedding
    std::int64_t domain_dim = 256;    // per-domain latent (the authors' class_dim)
    std::int64_t channels = 256;      // the generator's width (the authors' adain_dim; --gen-channels)
    std::int64_t image_size = 64;     // square output; divisible by 16 (4 doublings)
    std::int64_t image_channels = 3;  // 3, or 1 for grey data sets
    // Width of the output convolutions: 64 at the paper's width (256), scaled with `channels`
    // so a narrow CPU generator is narrow everywhere (the 5x5 convolution at full resolution
    // dominates its cost).
    std::int64_t out_channels() const { return std::max<std::int64_t>(channels / 4, 4); }
    static constexpr std::int64_t adain_layers = 4;
    static constexpr double embedding_init = 0.05;  // U(-0.05, 0.05), as the authors initialise it
};

// Per-sample, per-channel normalisation over H x W followed by a caller-given scale and shift:
// the parameters come from the modulation of a domain latent, not from the module itself.
class AdaptiveInstanceNorm2d : public Module {
public:
    Tensor normalize(const Tensor& x, const Tensor& scale, const Tensor& shift) const { return adain(x, scale, shift); }
};

// The LORD generator without the domain side: fc trunk, AdaIN blocks, output convolutions.
class ImageGenerator : public Module {
public:
    explicit ImageGenerator(const GeneratorConfig& config);
    // code [B, code_dim]; scales and shifts: one [B, channels] pair per AdaIN block.
    Tensor forward(const Tensor& code, const std::vector<Tensor>& scales, const std::vector<Tensor>& shifts);
    std::shared_ptr<Sequential> fc_layers, adain_conv_layers, last_conv_layers;

private:
    GeneratorConfig config_;
};

// One Linear(domain_dim -> 2 * channels) per AdaIN block. Its output is read as [B, channels, 2]:
// [..., 0] is the shift, [..., 1] the scale, used as is (no +1), as the authors' code reads it.
class Modulation : public Module {
public:
    explicit Modulation(const GeneratorConfig& config);
    std::pair<std::vector<Tensor>, std::vector<Tensor>> adain_params(const Tensor& latents);  // (scales, shifts)
    std::shared_ptr<Sequential> adain_per_layer;

private:
    std::int64_t channels_;
};

// Domain embedding + modulation + generator: what DCoDR trains next to the encoder.
class DcodrDecoder : public Module {
public:
    explicit DcodrDecoder(const GeneratorConfig& config);
    // code [B, code_dim] (the normalised code of the clean image), domains int64 [B]
    // -> images [B, image_channels, image_size, image_size] in (0, 1).
    Tensor forward(const Tensor& code, const Tensor& domains);
    // Rendering with given domain latents [B, domain_dim] instead of domain ids.
    Tensor render(const Tensor& code, const Tensor& latents);
    const GeneratorConfig& config() const { return config_; }
    // Parameters split as the method's optimiser wants them: the generator with its modulation
    // (one learning rate) and the domain embedding (a 10x higher one).
    std::vector<NamedTensor> generator_parameters() const;
    std::vector<NamedTensor> embedding_parameters() const;

    std::shared_ptr<Embedding> class_embedding;
    std::shared_ptr<Modulation> modulation;
    std::shared_ptr<ImageGenerator> generator;

private:
    GeneratorConfig config_;
};

}  // namespace dcodr::nn
