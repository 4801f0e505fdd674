#include "tests/tiny_encoder.h"

#include <fmt/format.h>

#include "nn/dcodr_encoder.h"
#include "nn/init.h"

namespace dcodr::testing {

static bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

void write_tiny_encoder(const std::string& path, const TinyEncoderOptions& o) {
    nn::EncoderConfig c;
    c.depth = 18;
    c.width = 0.125;
    c.hidden = 32;
    c.code_dim = o.code_dim;
    c.head = o.head;
    nn::manual_seed(o.seed);
    nn::DcodrEncoder encoder(c);
    // Batch-norm statistics of a trained model rather than the initial 0 / 1, so that a loader
    // mixing up running_mean and running_var, or skipping them, changes the codes.
    nn::Generator g(o.seed + 1);
    for (auto& nt : encoder.state_dict()) {
        Tensor t = nt.tensor;
        if (ends_with(nt.name, "running_mean")) t.copy_(g.uniform(t.shape(), -0.2, 0.2));
        if (ends_with(nt.name, "running_var")) t.copy_(g.uniform(t.shape(), 0.5, 1.5));
        if (ends_with(nt.name, "bn1.weight") || ends_with(nt.name, "bn2.weight")) t.copy_(g.uniform(t.shape(), 0.5, 1.5));
    }
    // The keys dcodr train writes (TrainConfig::to_json), a few of them: a loader must take the
    // encoder's and ignore the rest.
    std::string config = fmt::format(
        "{{\"depth\":{},\"width\":{},\"hidden\":{},\"code_dim\":{},\"head\":{},\"image_size\":{},"
        "\"loss\":\"dcodr\",\"tau\":0.1,\"lr\":0.0001,\"seed\":0{}}}",
        c.depth, c.width, c.hidden, c.code_dim, c.head ? "true" : "false", o.image_size, o.extra_config_json);
    nn::SafetensorsMetadata meta{{"dcodr.kind", "encoder"}, {"dcodr.config", config}, {"format", "pt"}};
    for (const auto& [k, v] : o.extra_metadata) meta[k] = v;
    nn::save_safetensors(path, encoder.state_dict(), meta, o.storage);
}

}  // namespace dcodr::testing
