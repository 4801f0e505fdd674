// The authors' per-data-set settings (their bash_scripts/{DCoDR,DCoDR_norec}/<data>/train/*.sh),
// as `dcodr train --dataset-preset NAME`: every choice their scripts make per data set, applied
// to a configuration except where a flag was given explicitly. The table is in README.md.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "method/trainer.h"

namespace dcodr::method {

struct DatasetPreset {
    std::string name;
    double tau = 0.2;
    std::int64_t image_size = 64;
    std::int64_t channels = 3;             // what the authors' files hold (a check, not a setting)
    std::int64_t baseline_batch_size = 64; // their --batch-size: the standard baseline's batch
    // DCoDR (with the decoder) only; DCoDR-norec has no head and the default rates everywhere.
    bool head_with_decoder = false;        // their DCoDR script's --use-fc-head
    double gen_lr_with_decoder = 0;        // their --gen-lr (also the encoder's rate); 0 = not given
    // Train only on domains with at least this many images (their get_orig_dataset drops CelebA
    // identities with 19 or fewer); applied by `dcodr train` as --min-domain-images.
    std::int64_t min_domain_images = 0;
    // The same in every script (listed so a preset states the whole protocol).
    std::int64_t epochs = 200;
    std::int64_t code_dim = 128;           // --content-dim
    std::int64_t domain_dim = 256;         // --class-dim
    std::int64_t domains_per_batch = 4;    // --num-b-cls
    std::int64_t images_per_domain = 32;   // --num-b-cls-samp
    double reconstruction_weight = 0.3;    // --reconstruction-decay
};

const std::vector<DatasetPreset>& dataset_presets();
// Throws, listing the names, for an unknown one.
const DatasetPreset& find_dataset_preset(const std::string& name);
// Sets the preset's values in `c` (DCoDR's or DCoDR-norec's, by c.reconstruction.enabled),
// except those whose flag given(flag name) says was set explicitly. Call it after the flags
// have been read into `c`.
void apply_dataset_preset(const DatasetPreset& preset, TrainConfig& c,
                          const std::function<bool(const std::string&)>& given);
// A warning when the data do not look like the preset's (e.g. SmallNORB is grey), or "".
std::string dataset_preset_mismatch(const DatasetPreset& preset, const data::Dataset& ds);

}  // namespace dcodr::method
