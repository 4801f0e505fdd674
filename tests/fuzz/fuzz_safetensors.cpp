// Fuzz target: the safetensors parser (8-byte header length, JSON header, offsets, dtypes).
#include <string_view>

#include "fuzz_common.h"
#include "nn/safetensors.h"

extern const char* const kFuzzName = "safetensors";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    dcodr::fuzz::expect_only_dcodr_errors([&] {
        dcodr::nn::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    });
    return 0;
}
