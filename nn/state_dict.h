// Copying a loaded state dict (name -> tensor, e.g. from a safetensors file) into the
// parameters and buffers of a model, matched by name.
//
// Independent of the Module classes: the caller passes the model's tensors as NamedTensor
// handles, and copying into a handle writes into the model's own storage (dtype converted,
// the target's device kept).
#pragma once
#include <string>
#include <vector>

#include "nn/named_tensor.h"

namespace dcodr::nn {

struct ShapeMismatch {
    std::string name;
    Shape expected;  // the model's
    Shape found;     // the loaded one's
};

struct LoadReport {
    std::vector<std::string> missing;      // in the model, absent from the loaded dict
    std::vector<std::string> unexpected;   // in the loaded dict, not in the model
    std::vector<ShapeMismatch> mismatched; // in both, shapes differ (left untouched)
    std::vector<std::string> loaded;       // copied

    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    // One line per problem kind, e.g. "missing (2): fc.weight, fc.bias"; empty when ok().
    std::string describe() const;
};

// strict: any missing, unexpected or mis-shaped tensor throws ONE dcodr::Error listing all
// of them, and nothing is copied (a half-loaded model is worse than none).
// non-strict: copies every tensor that matches in name and shape and reports the rest.
// Duplicate names on either side always throw. `source` (a file name) prefixes messages.
LoadReport load_state_dict(const std::vector<NamedTensor>& targets, const std::vector<NamedTensor>& loaded,
                           bool strict = true, const std::string& source = "");

}  // namespace dcodr::nn
