// Opening an encoder file written by `dcodr train` (encoder.safetensors, or the model part of a
// checkpoint.safetensors) and turning images into codes. This is everything encoding needs, so
// it lives in the inference library (meson -Dinference_only=true) and the C API is built on it
// (docs/embedding.md); trainer.cpp's load_encoder adds the full training configuration on top.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "nn/dcodr_encoder.h"
#include "nn/json.h"

namespace dcodr::method {

// What the file says about the encoder besides its weights.
struct EncoderInfo {
    nn::EncoderConfig config;
    std::int64_t image_size = 64;  // square input size it was trained at (`image_size` in dcodr.config)
    std::int64_t channels = 3;     // input channels (the first convolution's)
    std::string kind;              // dcodr.kind: "encoder" or "checkpoint" ("" when absent)
    std::string config_json;       // dcodr.config as stored (the whole training configuration)
};

// The encoder's part of a saved training configuration (`dcodr.config`): depth, width, hidden,
// code_dim, head. Keys it does not know are ignored, so a file written by a later version that
// saves more settings still opens. Missing or mistyped keys are errors naming `path`.
nn::EncoderConfig encoder_config_from_json(const json::Value& config, const std::string& path);

struct LoadedEncoder {
    std::shared_ptr<nn::DcodrEncoder> encoder;  // eval mode, on the requested device
    EncoderInfo info;
};

// Needs the `dcodr.config` metadata `dcodr train` writes; other metadata entries are ignored.
// The tensors must be exactly the encoder's (missing or unexpected ones are errors naming the
// file); F16/BF16 weights (dcodr convert --dtype) become float32 as they are read.
LoadedEncoder load_encoder_file(const std::string& path, Device device);

// L2-normalised codes [N, code_dim] of images [N, C, H, W] in [0, 1], recording no graph: the one
// definition of "the code" that dcodr encode, eval and the C API share (DcodrEncoder::encode: the
// head's output when the encoder has a head, as in the authors' code).
Tensor encode_codes(nn::DcodrEncoder& encoder, const Tensor& images);

// Encodes a data set in eval mode, in batches of `batch_size` resized to image_size (load_batch's
// preprocessing): [N, code_dim] float32 on the CPU.
Tensor encode_dataset(nn::DcodrEncoder& encoder, const data::Dataset& ds, std::int64_t image_size, Device device,
                      std::int64_t batch_size = 256);

}  // namespace dcodr::method
