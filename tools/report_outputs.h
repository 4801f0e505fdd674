// What dcodr train / eval / demo leave in their output folder besides weights and numbers: the
// pictures (retrieval with its legend; with a decoder, the domain-swap grid and reconstructions)
// and report.html (report/run_report.h). One call per command, after its evaluation.
#pragma once
#include <string>

#include "data/dataset.h"
#include "method/evaluation.h"
#include "method/trainer.h"
#include "nn/json.h"

namespace dcodr::tools {

// "dcodr train --data x.npz ...": the command line as typed (arguments with spaces quoted).
std::string command_line(const std::string& command, int argc, char** argv);

// dcodr train: pictures when evaluated (`eval` non-null) or when a decoder exists, then the report.
void write_train_outputs(const std::string& out, method::Trainer& trainer, const data::Dataset& train,
                         const data::Dataset& test, const method::EvalReport* eval, const std::string& command);

// dcodr eval's output folder: --out, or <folder of the weights>/eval; created once the weights
// and data have loaded (a refused input leaves no empty folder) and before the evaluation's
// work, so a folder that cannot be made fails early.
std::string eval_out_folder(const std::string& out, const std::string& weights);

// dcodr eval: eval.json, the pictures (the domain swap too when `weights` is, or sits beside, a
// DCoDR decoder) and the report; the training curves come from the log beside `weights`, if any.
void write_eval_outputs(const std::string& out, const std::string& weights, nn::DcodrEncoder& encoder,
                        const method::TrainConfig& config, const data::Dataset& train, const data::Dataset& test,
                        const method::EvalReport& eval, Device device, const std::string& command);

// dcodr demo: one report over its runs; `results` is results.json (each run's entry carries its
// "folder" and "config").
void write_demo_report(const std::string& out, const json::Value& results, Device device, const std::string& command);

}  // namespace dcodr::tools
