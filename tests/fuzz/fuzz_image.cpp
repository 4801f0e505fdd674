// Fuzz target: image decoding (stb: PNG, JPEG, BMP, PNM) with our size limits.
#include "data/image.h"
#include "fuzz_common.h"

extern const char* const kFuzzName = "image";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    dcodr::fuzz::expect_only_dcodr_errors([&] { dcodr::data::decode_image(data, size, "fuzz image"); });
    return 0;
}
