#include "nn/generator.h"

namespace dcodr::nn {

namespace {
constexpr double kSlope = 0.01;  // nn.LeakyReLU()'s default, everywhere in the generator
}

ImageGenerator::ImageGenerator(const GeneratorConfig& c) : config_(c) {
    DCODR_CHECK(c.image_size >= 16 && c.image_size % 16 == 0,
                "generator: image size must be a multiple of 16 (4 doublings from s/16), got {}", c.image_size);
    DCODR_CHECK(c.channels >= 8 && c.channels % 8 == 0, "generator: --gen-channels must be a multiple of 8, got {}",
                c.channels);
    DCODR_CHECK(c.image_channels == 1 || c.image_channels == 3, "generator: images have 1 or 3 channels, not {}",
                c.image_channels);
    const std::int64_t s0 = c.image_size / 16, cells = s0 * s0;
    // The trunk widens in three steps (1/8, 1/4, 1 of the final cells x channels), as LORD's does.
    fc_layers = register_module("fc_layers", std::make_shared<Sequential>());
    fc_layers->push_back(std::make_shared<Linear>(c.code_dim, cells * (c.channels / 8)));
    fc_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
    fc_layers->push_back(std::make_shared<Linear>(cells * (c.channels / 8), cells * (c.channels / 4)));
    fc_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
    fc_layers->push_back(std::make_shared<Linear>(cells * (c.channels / 4), cells * c.channels));
    fc_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
    // [Upsample, Conv, LeakyReLU, AdaIN] x 4: the convolutions sit at 1, 5, 9, 13 as in the authors'
    // nn.Sequential, which is what makes the state-dict names match theirs.
    adain_conv_layers = register_module("adain_conv_layers", std::make_shared<Sequential>());
    for (std::int64_t i = 0; i < GeneratorConfig::adain_layers; ++i) {
        adain_conv_layers->push_back(std::make_shared<Upsample>(2));
        adain_conv_layers->push_back(std::make_shared<Conv2d>(c.channels, c.channels, 3, 1, 1));
        adain_conv_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
        adain_conv_layers->push_back(std::make_shared<AdaptiveInstanceNorm2d>());
    }
    const std::int64_t mid = c.out_channels();
    last_conv_layers = register_module("last_conv_layers", std::make_shared<Sequential>());
    last_conv_layers->push_back(std::make_shared<Conv2d>(c.channels, mid, 5, 1, 2));
    last_conv_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
    if (c.image_size >= 128) {  // the authors' extra layer for 128-pixel images
        last_conv_layers->push_back(std::make_shared<Conv2d>(mid, mid, 5, 1, 2));
        last_conv_layers->push_back(std::make_shared<LeakyReLU>(kSlope));
    }
    last_conv_layers->push_back(std::make_shared<Conv2d>(mid, c.image_channels, 7, 1, 3));
    last_conv_layers->push_back(std::make_shared<Sigmoid>());
}

Tensor ImageGenerator::forward(const Tensor& code, const std::vector<Tensor>& scales,
                               const std::vector<Tensor>& shifts) {
    const auto blocks = static_cast<std::size_t>(GeneratorConfig::adain_layers);
    DCODR_CHECK(code.dim() == 2 && code.size(1) == config_.code_dim,
                "generator: expected codes [B, {}], got {}", config_.code_dim, shape_str(code.shape()));
    DCODR_CHECK(scales.size() == blocks && shifts.size() == blocks,
                "generator: expected {} AdaIN (scale, shift) pairs, got {} and {}", blocks, scales.size(),
                shifts.size());
    const std::int64_t s0 = config_.image_size / 16;
    // x.reshape(-1, channels, s0, s0) of the trunk's output, as in PyTorch (row-major).
    Tensor x = reshape(fc_layers->forward(code), {code.size(0), config_.channels, s0, s0});
    for (std::size_t i = 0; i < blocks; ++i) {
        for (std::size_t j = 0; j < 3; ++j) x = (*adain_conv_layers)[4 * i + j].forward(x);
        x = static_cast<AdaptiveInstanceNorm2d&>((*adain_conv_layers)[4 * i + 3]).normalize(x, scales[i], shifts[i]);
    }
    return last_conv_layers->forward(x);
}

Modulation::Modulation(const GeneratorConfig& c) : channels_(c.channels) {
    adain_per_layer = register_module("adain_per_layer", std::make_shared<Sequential>());
    for (std::int64_t i = 0; i < GeneratorConfig::adain_layers; ++i)
        adain_per_layer->push_back(std::make_shared<Linear>(c.domain_dim, 2 * c.channels));
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> Modulation::adain_params(const Tensor& latents) {
    std::vector<Tensor> scales, shifts;
    for (std::size_t i = 0; i < adain_per_layer->size(); ++i) {
        // [B, 2C] read as [B, C, 2]: shift and scale interleave per channel.
        Tensor p = reshape((*adain_per_layer)[i].forward(latents), {latents.size(0), channels_, 2});
        shifts.push_back(select(p, 2, 0));
        scales.push_back(select(p, 2, 1));
    }
    return {scales, shifts};
}

DcodrDecoder::DcodrDecoder(const GeneratorConfig& c) : config_(c) {
    DCODR_CHECK(c.n_domains >= 1, "decoder: needs at least one domain, got {}", c.n_domains);
    class_embedding =
        register_module("class_embedding", std::make_shared<Embedding>(c.n_domains, c.domain_dim, c.embedding_init));
    modulation = register_module("modulation", std::make_shared<Modulation>(c));
    generator = register_module("generator", std::make_shared<ImageGenerator>(c));
}

Tensor DcodrDecoder::render(const Tensor& code, const Tensor& latents) {
    auto [scales, shifts] = modulation->adain_params(latents);
    return generator->forward(code, scales, shifts);
}

Tensor DcodrDecoder::forward(const Tensor& code, const Tensor& domains) {
    DCODR_CHECK(domains.dim() == 1 && domains.size(0) == code.size(0),
                "decoder: expected one domain id per code ({}), got {}", code.size(0), shape_str(domains.shape()));
    return render(code, class_embedding->forward(domains));
}

std::vector<NamedTensor> DcodrDecoder::generator_parameters() const {
    std::vector<NamedTensor> out;
    for (auto& p : named_parameters())
        if (p.name.rfind("class_embedding.", 0) != 0) out.push_back(p);
    return out;
}

std::vector<NamedTensor> DcodrDecoder::embedding_parameters() const {
    std::vector<NamedTensor> out;
    for (auto& p : named_parameters())
        if (p.name.rfind("class_embedding.", 0) == 0) out.push_back(p);
    return out;
}

}  // namespace dcodr::nn
