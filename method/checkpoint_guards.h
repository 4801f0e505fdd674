// Checks that tie a checkpoint to the run that may resume it, and reading its numbers safely.
//  * A fingerprint of the training data (sizes, labels, pixels) is stored at save time and
//    compared on --resume: resuming with a different data set used to continue silently.
//  * Integer metadata ("dcodr.step", the sampler cursor) must be a decimal integer in range:
//    a non-numeric step said "stoll", a step of -5 resumed.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "nn/safetensors.h"

namespace dcodr::method {

// 16 hex digits; equal for equal data sets, and changes with any pixel or label.
std::string data_fingerprint(const data::Dataset& ds);
void write_checkpoint_guards(nn::SafetensorsMetadata& meta, const data::Dataset& ds);
// Throws when the checkpoint holds a fingerprint that differs from ds's (older checkpoints
// without one are accepted).
void check_checkpoint_guards(const nn::SafetensorsMetadata& meta, const data::Dataset& ds, const std::string& path);
// meta[key] as an integer in [lo, hi]; errors name the file and the field.
std::int64_t checkpoint_int(const nn::SafetensorsMetadata& meta, const std::string& path, const std::string& key,
                            std::int64_t lo, std::int64_t hi);

}  // namespace dcodr::method
