// A small DCoDR encoder file written the way `dcodr train` writes encoder.safetensors
// (dcodr.kind, dcodr.config with the encoder's keys and others), from the inference library
// only, so the C API tests also run in an inference-only build, where there is no trainer.
#pragma once
#include <map>
#include <string>

#include "nn/safetensors.h"

namespace dcodr::testing {

struct TinyEncoderOptions {
    std::int64_t image_size = 32, code_dim = 8;
    bool head = false;
    std::uint64_t seed = 11;
    nn::FloatStorage storage = nn::FloatStorage::f32;
    std::map<std::string, std::string> extra_metadata;  // added to (or replacing) the usual entries
    std::string extra_config_json;                      // e.g. ",\"future_key\":1" appended to dcodr.config
};

// ResNet-18 at width 0.125, hidden 32, random weights and batch-norm statistics (seeded).
void write_tiny_encoder(const std::string& path, const TinyEncoderOptions& options = {});

}  // namespace dcodr::testing
