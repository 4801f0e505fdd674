// The one validation pass over the numeric options of train / eval / encode: ranges,
// finiteness, and products that must fit (batch memory). Every message names the flag, so a
// bad value is refused before any work instead of training silently on nonsense (--steps -5
// became a 200-epoch run, --tau inf, --lr -1, --probe-batch 1 were all accepted).
#pragma once
#include <cstdint>

#include "data/dataset.h"
#include "method/evaluation.h"
#include "method/trainer.h"
#include "tools/args.h"
#include "tools/runtime_options.h"  // checked_threads

namespace dcodr::tools {

// The training options' ranges live with the options (method/train_options.h); values after
// merging a checkpoint's saved configuration on --resume are checked the same way.
void check_train_config(const method::TrainConfig& c);
void check_probe_config(const method::ProbeConfig& p);
// --synthetic-count (the other data options are checked where they are used).
void check_data_options(const Args& a);
// For a CSV whose images differ in size: resize them to --image-size where the command has
// that option (train, demo; eval, encode, translate when it is not 0) instead of refusing.
data::CsvOptions csv_options_from(const Args& a);

}  // namespace dcodr::tools
