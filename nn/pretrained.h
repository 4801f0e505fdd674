// Starting a model from weights trained elsewhere: read any weights file dcodr knows
// (torch.save .pth in either layout, .safetensors, .npz), map its names (name_mapping.h) and
// copy what matches into the model, reporting what did not, as PyTorch's
// load_state_dict(strict=False) does.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nn/json.h"
#include "nn/name_mapping.h"
#include "nn/torch_checkpoint.h"

namespace dcodr::nn {

struct WeightsFile {
    std::string format;  // "pytorch zip", "pytorch legacy", "safetensors", "npz"
    std::string key;     // for .pth: the key path the tensors came from
    std::vector<CheckpointTensor> tensors;
    std::vector<std::string> others;  // .pth: non-tensor entries ("epoch = 800")
    std::map<std::string, std::string> metadata;  // .safetensors: its __metadata__ (dcodr.config, ...)
};

// Format by content, not by file name. `options` applies to .pth files only.
WeightsFile read_weights_file(const std::string& path, const TorchLoadOptions& options = {});

struct InitOptions {
    std::string path;    // --init
    std::string key;     // --init-key (.pth only; default: auto, see TorchLoadOptions)
    std::string prefix;  // --init-prefix
    std::string map;     // --init-map FROM=TO,...
    bool strict = false; // --init-strict: missing model tensors are an error
    // Saved with the training configuration under the keys init, init_key, ... (method/train_options.cpp).
};

struct InitReport {
    std::string path, format, key;
    std::vector<std::string> loaded;       // model names
    std::vector<std::string> missing;      // model names the file does not have
    std::vector<std::string> unexpected;   // file names (after mapping) the model does not have
    std::vector<std::pair<std::string, std::string>> not_used;  // file name, reason (rules)

    std::string describe() const;  // multi-line summary with counts
    json::Value to_json() const;   // counts and names
};

// Copies the file's tensors into `targets` (a model's state dict). A shape or dtype-kind
// mismatch (float vs integer) is an error naming the tensor, as is a file that matches
// nothing; with strict, so is any missing model tensor. Nothing is copied unless all
// checks pass.
InitReport load_pretrained(const std::vector<NamedTensor>& targets, const InitOptions& options);

}  // namespace dcodr::nn
