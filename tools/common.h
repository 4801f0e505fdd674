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

// The training options of method/train_options.h as flags (defaults: the method doc's numbers),
// and --config FILE (tools/train_flags.cpp). Values: the flags given explicitly, else the --config
// file's, else the command's defaults. Bad values throw UsageError naming the flag or the file.
void add_train_options(Args& a);
method::TrainConfig train_config_from(const Args& a);
// For --resume: the configuration saved in the checkpoint, except where --config or a flag given
// explicitly on this command line says otherwise (e.g. --steps to train longer); --init* are always
// the checkpoint's.
method::TrainConfig resume_config_from(const Args& a, const json::Value& saved);

// Probe protocol options.
void add_probe_options(Args& a);
method::ProbeConfig probe_config_from(const Args& a);

}  // namespace dcodr::tools
