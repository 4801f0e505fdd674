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
    add_runtime_options(a);
    if (a.parse()) return 0;
    DCODR_CHECK(!a.str("weights").empty() && !a.str("data").empty(), "dcodr encode: --weights and --data are required");
    const std::int64_t batch = a.integer("batch-size");
    DCODR_CHECK(batch >= 1 && batch <= 65536, "--batch-size must be in [1, 65536], got {}", batch);
    Device device = device_from(a);
    method::LoadedEncoder loaded = method::load_encoder_file(a.str("weights"), device);
    data::Dataset ds = data::load_dataset(a.str("data"));
    Tensor codes = method::encode_dataset(*loaded.encoder, ds, loaded.info.image_size, device, batch);
    data::save_npy(a.str("out"), data::NpyArray::from_tensor(codes));
    std::cerr << fmt::format("wrote {} codes of dimension {} to {}\n", codes.size(0), codes.size(1), a.str("out"));
    return 0;
}

}  // namespace dcodr::tools
