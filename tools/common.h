// Option groups shared by the dcodr commands, and turning them into configurations.
#pragma once
#include <utility>

#include "data/dataset.h"
#include "method/evaluation.h"
#include "method/trainer.h"
#include "tools/args.h"
#include "tools/runtime_options.h"  // --device, --threads

namespace dcodr::tools {

// --data, --test-data, --test-fraction, --synthetic-count, --domain-factor, --data-seed
void add_data_options(Args& a);
// The train and test sets: from files (a separate --test-data, or a seeded split), or the
// built-in synthetic Shapes3D-like generator when --data is "synthetic".
std::pair<data::Dataset, data::Dataset> load_train_test(const Args& a);

// --image-size for the commands that read images but take the size from the encoder (eval,
// encode, translate): the square size a CSV's images of different sizes are resized to when
// loaded (0 = such a CSV is refused). train and demo have it among the training options.
void add_csv_image_size_option(Args& a);

// Model, loss and optimisation options (defaults: the method doc's numbers).
void add_train_options(Args& a);
method::TrainConfig train_config_from(const Args& a);
// For --resume: the configuration saved in the checkpoint, except where a flag was given
// explicitly on this command line (e.g. --steps to train longer).
method::TrainConfig resume_config_from(const Args& a, const json::Value& saved);

// Probe protocol options.
void add_probe_options(Args& a);
method::ProbeConfig probe_config_from(const Args& a);

}  // namespace dcodr::tools
