// Fuzz target: zip directory (ZIP64 included) + npz members + the authors' data set format.
#include "data/dataset.h"
#include "data/npy.h"
#include "fuzz_common.h"

extern const char* const kFuzzName = "npz";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = dcodr::fuzz::write_scratch("in.npz", data, size);
    dcodr::fuzz::expect_only_dcodr_errors([&] { dcodr::data::load_npz(path); });
    dcodr::fuzz::expect_only_dcodr_errors([&] { dcodr::data::load_npz_dataset(path); });
    return 0;
}
