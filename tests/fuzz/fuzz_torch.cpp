// Fuzz target: the PyTorch checkpoint reader (zip and legacy layouts, the pickle machine, inflate).
// The seeds are the small fixtures of tests/fixtures/torch (both layouts, a deflated zip, and two
// pickles that try to call Python functions).
#include "fuzz_common.h"
#include "nn/torch_checkpoint.h"

extern const char* const kFuzzName = "torch";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // Both ways of finding the state dict: the whole object, and its "state_dict"/"model" entry.
    for (bool auto_key : {false, true}) {
        dcodr::nn::TorchLoadOptions options;
        options.auto_key = auto_key;
        dcodr::fuzz::expect_only_dcodr_errors([&] { dcodr::nn::parse_torch_checkpoint(bytes, options, "fuzz"); });
    }
    dcodr::fuzz::expect_only_dcodr_errors([&] { dcodr::nn::looks_like_torch_checkpoint(bytes); });
    return 0;
}
