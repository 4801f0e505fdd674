// Fuzz target: the JSON parser behind checkpoint metadata, and reading a training
// configuration from it (what --resume and load_encoder do with "dcodr.config").
#include <string_view>

#include "fuzz_common.h"
#include "method/trainer.h"
#include "nn/json.h"

extern const char* const kFuzzName = "json";

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    dcodr::fuzz::expect_only_dcodr_errors([&] {
        auto v = dcodr::json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
        (void)v.dump();
        dcodr::method::TrainConfig::from_json(v);
    });
    return 0;
}
