// Fuzz target: the .npy parser (header dict, shape, dtype, data extent) in memory.
#include "data/npy.h"
#include "fuzz_common.h"

extern const char* const kFuzzName = "npy";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    dcodr::fuzz::expect_only_dcodr_errors([&] {
        auto a = dcodr::data::parse_npy(data, size, "fuzz.npy");
        if (a.numel() <= 4096) {
            dcodr::fuzz::expect_only_dcodr_errors([&] { a.to_int64(); });
            a.to_double();
        }
    });
    return 0;
}
