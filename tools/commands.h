// The dcodr subcommands; each returns a process exit code.
#pragma once
#include <string>

#include "data/dataset.h"
#include "nn/dcodr_encoder.h"
#include "nn/generator.h"

namespace dcodr::tools {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_encode(int argc, char** argv);
int cmd_generate_data(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_translate(int argc, char** argv);

// The domain-swap grid at `out` and the reconstruction strip beside it (dcodr translate, demo).
void write_translation_pictures(nn::DcodrEncoder& encoder, nn::DcodrDecoder& decoder, const data::Dataset& ds,
                                std::int64_t rows, std::int64_t max_columns, const std::string& out, Device device);
std::string reconstruction_strip_path(const std::string& grid_path);

}  // namespace dcodr::tools
