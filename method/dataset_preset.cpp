#include "method/dataset_preset.h"

#include <fmt/format.h>

#include "tensor/error.h"

namespace dcodr::method {

const std::vector<DatasetPreset>& dataset_presets() {
    // name, tau, image size, channels, baseline batch, DCoDR's head, DCoDR's --gen-lr, smallest
    // domain trained on (the norec scripts' --batch-size is 64 for Cars3D, SmallNORB, Shapes3D and
    // 128 for CelebA and Edges2Shoes; only SmallNORB's DCoDR script turns the head on).
    static const std::vector<DatasetPreset> presets = {
        {"cars3d", 0.2, 64, 3, 64, false, 0, 0},
        {"smallnorb", 0.2, 64, 1, 64, true, 3e-4, 0},
        {"shapes3d", 0.1, 64, 3, 64, false, 0, 0},
        {"celeba", 0.2, 64, 3, 128, false, 1e-3, 20},
        {"edges2shoes", 0.1, 64, 3, 128, false, 1e-3, 0},
    };
    return presets;
}

const DatasetPreset& find_dataset_preset(const std::string& name) {
    std::string names;
    for (const auto& p : dataset_presets()) {
        if (p.name == name) return p;
        names += (names.empty() ? "" : ", ") + p.name;
    }
    fail("--dataset-preset: unknown data set '{}' (expected one of: {})", name, names);
}

void apply_dataset_preset(const DatasetPreset& p, TrainConfig& c,
                          const std::function<bool(const std::string&)>& given) {
    auto set = [&](const char* flag, auto& field, auto value) {
        if (!given(flag)) field = value;
    };
    const bool dcodr = c.reconstruction.enabled;
    set("tau", c.loss.tau, p.tau);
    set("image-size", c.image_size, p.image_size);
    set("baseline-batch-size", c.baseline_batch_size, p.baseline_batch_size);
    set("head", c.encoder.head, dcodr && p.head_with_decoder);
    set("epochs", c.epochs, p.epochs);
    set("code-dim", c.encoder.code_dim, p.code_dim);
    set("domain-dim", c.reconstruction.domain_dim, p.domain_dim);
    set("domains-per-batch", c.domains_per_batch, p.domains_per_batch);
    set("images-per-domain", c.images_per_domain, p.images_per_domain);
    set("reconstruction-weight", c.reconstruction.weight, p.reconstruction_weight);
    // Learning rates: the authors' base_config (TrainConfig's defaults), except that a DCoDR
    // script's --gen-lr sets the generator's and the encoder's. An explicit --gen-lr has already
    // set both; an explicit --lr keeps the encoder's.
    const TrainConfig base;
    const bool gen_lr_given = dcodr && p.gen_lr_with_decoder > 0;
    set("gen-lr", c.reconstruction.gen_lr, gen_lr_given ? p.gen_lr_with_decoder : base.reconstruction.gen_lr);
    if (!given("gen-lr")) set("lr", c.lr, gen_lr_given ? p.gen_lr_with_decoder : base.lr);
    set("embedding-lr", c.reconstruction.embedding_lr, base.reconstruction.embedding_lr);
    c.dataset_preset = p.name;
}

std::string dataset_preset_mismatch(const DatasetPreset& p, const data::Dataset& ds) {
    if (ds.channels == p.channels) return "";
    return fmt::format("note: --dataset-preset {} expects {}-channel images (the authors' files), {} has {}", p.name,
                       p.channels, ds.source, ds.channels);
}

}  // namespace dcodr::method
