// dcodr encode: images -> L2-normalised codes (.npy). The one command of the inference-only
// build, so it depends on the inference library only (method/encoder_file.h).
#include <fmt/format.h>
#include <iostream>

#include "data/npy.h"
#include "method/encoder_file.h"
#include "tools/commands.h"
#include "tools/runtime_options.h"

namespace dcodr::tools {

int cmd_encode(int argc, char** argv) {
    Args a("encode", "Encode images to L2-normalised codes, saved as a float32 .npy [N, code_dim].", argc, argv);
    a.option("weights", "", "encoder.safetensors or checkpoint.safetensors (required; F32, F16 or BF16 weights)");
    a.option("data", "", "images to encode: an .npz or a labels .csv (required)");
    a.option("out", "codes.npy", "output .npy file");
    a.option("batch-size", "256", "images per forward pass (lower it to lower peak memory; docs/performance.md)");
    // The same option and check as the other commands' (tools/common.cpp add_csv_image_size_option,
    // tools/option_checks.cpp csv_options_from), repeated so the inference-only dcodr links without them.
    a.option("image-size", "0",
             "a labels .csv whose images differ in size: resize them all to this square size when loading "
             "(0 = refuse such a CSV); the encoder then sees them at the size it was trained at");
    add_runtime_options(a);
    if (a.parse()) return 0;
    if (a.str("weights").empty() || a.str("data").empty()) usage_error("--weights and --data are required");
    const std::int64_t batch = a.integer("batch-size");
    if (batch < 1 || batch > 65536) usage_error("--batch-size must be in [1, 65536], got {}", batch);
    Device device = device_from(a);
    method::LoadedEncoder loaded = method::load_encoder_file(a.str("weights"), device);
    data::CsvOptions csv;
    if (const std::int64_t size = a.integer("image-size"); size != 0) {
        if (size < 16 || size > 1024) usage_error("--image-size must be in [16, 1024], got {}", size);
        csv.mixed_size_target = size;
    }
    data::Dataset ds = data::load_dataset(a.str("data"), csv);
    Tensor codes = method::encode_dataset(*loaded.encoder, ds, loaded.info.image_size, device, batch);
    data::save_npy(a.str("out"), data::NpyArray::from_tensor(codes));
    std::cerr << fmt::format("wrote {} codes of dimension {} to {}\n", codes.size(0), codes.size(1), a.str("out"));
    return 0;
}

}  // namespace dcodr::tools
