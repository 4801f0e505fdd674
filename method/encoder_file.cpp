#include "method/encoder_file.h"

#include <algorithm>

#include "autograd/functional.h"
#include "nn/finite_check.h"
#include "nn/safetensors.h"
#include "nn/state_dict.h"
#include "tensor/ops.h"

namespace dcodr::method {

namespace {

const json::Value& field(const json::Value& config, const char* key, const std::string& path) {
    const json::Value* v = config.find(key);
    DCODR_CHECK(v != nullptr, "{}: dcodr.config has no '{}' (expected a file written by dcodr train)", path, key);
    return *v;
}

std::int64_t int_in(const json::Value& config, const char* key, std::int64_t lo, std::int64_t hi,
                    const std::string& path) {
    const json::Value& v = field(config, key, path);
    DCODR_CHECK(v.is_number(), "{}: dcodr.config '{}' must be a number", path, key);
    std::int64_t n = v.as_int();
    DCODR_CHECK(n >= lo && n <= hi, "{}: dcodr.config '{}' is {}, expected {}..{}", path, key, n, lo, hi);
    return n;
}

}  // namespace

nn::EncoderConfig encoder_config_from_json(const json::Value& v, const std::string& path) {
    DCODR_CHECK(v.is_object(), "{}: dcodr.config must be a JSON object", path);
    nn::EncoderConfig c;
    // Bounds far above any real encoder, low enough that a corrupt value fails here instead of
    // as a huge allocation while the model is built.
    c.depth = static_cast<int>(int_in(v, "depth", 18, 50, path));
    const json::Value& width = field(v, "width", path);
    DCODR_CHECK(width.is_number(), "{}: dcodr.config 'width' must be a number", path);
    c.width = width.as_double();
    c.hidden = int_in(v, "hidden", 1, std::int64_t{1} << 20, path);
    c.code_dim = int_in(v, "code_dim", 1, std::int64_t{1} << 20, path);
    const json::Value& head = field(v, "head", path);
    DCODR_CHECK(head.is_bool(), "{}: dcodr.config 'head' must be true or false", path);
    c.head = head.as_bool();
    return c;
}

LoadedEncoder load_encoder_file(const std::string& path, Device device) {
    nn::SafetensorsContent c = nn::load_safetensors(path);
    auto cfg = c.metadata.find("dcodr.config");
    DCODR_CHECK(cfg != c.metadata.end(), "{}: no 'dcodr.config' metadata; expected a file written by dcodr train",
                path);
    json::Value config = json::parse(cfg->second);
    LoadedEncoder out;
    out.info.config_json = cfg->second;
    out.info.config = encoder_config_from_json(config, path);
    out.info.image_size = int_in(config, "image_size", 1, 4096, path);
    // The code is the head's output when the encoder has a head; files written since that rule
    // say which output they hold ("dcodr.code"), and one that contradicts its configuration is
    // refused rather than encoded with the wrong layer.
    const char* code_output = out.info.config.head ? "head" : "projection";
    auto code = c.metadata.find("dcodr.code");
    DCODR_CHECK(code == c.metadata.end() || code->second == code_output,
                "{}: metadata 'dcodr.code' is '{}' but its configuration says the code is the {} output", path,
                code == c.metadata.end() ? "" : code->second, code_output);
    auto kind = c.metadata.find("dcodr.kind");
    if (kind != c.metadata.end()) out.info.kind = kind->second;
    const bool checkpoint = out.info.kind == "checkpoint";
    std::vector<nn::NamedTensor> weights;
    for (auto& nt : c.tensors) {
        if (!checkpoint) weights.push_back(nt);
        else if (nt.name.rfind("model.", 0) == 0) weights.push_back({nt.name.substr(6), nt.tensor});
    }
    nn::require_finite(weights, path);
    out.encoder = std::make_shared<nn::DcodrEncoder>(out.info.config);
    nn::load_state_dict(out.encoder->state_dict(), weights, true, path);
    out.info.channels = out.encoder->resnet->conv1->weight.size(1);
    out.encoder->to(device);
    out.encoder->eval();
    return out;
}

Tensor encode_codes(nn::DcodrEncoder& encoder, const Tensor& images) {
    [[maybe_unused]] NoGradGuard no_grad;  // an empty class in an inference-only build
    return l2_normalize(encoder.encode(images), 1);
}

Tensor encode_dataset(nn::DcodrEncoder& encoder, const data::Dataset& ds, std::int64_t image_size, Device device,
                      std::int64_t batch_size) {
    encoder.eval();
    std::vector<Tensor> parts;
    data::ImageFormat fmt{image_size, image_size, 3};
    for (std::int64_t at = 0; at < ds.count; at += batch_size) {
        std::vector<std::int64_t> idx;
        for (std::int64_t i = at; i < std::min(ds.count, at + batch_size); ++i) idx.push_back(i);
        Tensor images = data::load_batch(ds, idx, fmt).to(device);
        parts.push_back(encode_codes(encoder, images).to(Device::cpu()));
    }
    return kernels::concat(parts, 0);
}

}  // namespace dcodr::method
