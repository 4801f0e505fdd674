// dcodr train / eval (encode: cmd_encode.cpp).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "data/npy.h"
#include "method/dataset_preset.h"
#include "method/run_folder.h"
#include "nn/atomic_file.h"
#include "nn/safetensors.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/option_checks.h"
#include "tools/report_outputs.h"

namespace dcodr::tools {

static void write_json(const std::string& path, const json::Value& v) {
    nn::write_file_atomic(path, v.dump(2) + "\n");
}

int cmd_train(int argc, char** argv) {
    Args a("train", "Train a DCoDR encoder (with --reconstruction its decoder too; without, DCoDR-norec) or the\n"
                    "contrastive baselines, on images with domain labels.",
           argc, argv);
    add_data_options(a);
    add_train_options(a);
    add_probe_options(a);
    add_runtime_options(a);
    a.option("out", "runs/train", "output folder: checkpoint.safetensors, encoder.safetensors, train_log.jsonl "
                                  "(and decoder.safetensors with --reconstruction)", "output");
    a.flag("resume", "continue from <out>/checkpoint.safetensors with its saved configuration "
                     "(--config and flags given explicitly override it, e.g. --steps to train longer)", "output");
    a.flag("eval", "run the evaluation protocol after training and write <out>/eval.json", "evaluation");
    a.option("min-domain-images", "0", "train only on the domains with at least this many images (the authors' CelebA: "
                                       "20); evaluation still sees every image. Give it again with --resume", "data");
    a.flag("print-config", "print the effective training configuration (JSON, usable as --config) and exit",
           "runtime");
    if (a.parse()) return 0;
    if (a.str("out").empty()) usage_error("--out must name an output folder, got an empty path");
    const std::string ckpt = a.str("out") + "/checkpoint.safetensors";
    method::TrainConfig config = train_config_from(a);
    if (a.enabled("resume")) {
        DCODR_CHECK(std::filesystem::exists(ckpt), "--resume: {} does not exist", ckpt);
        auto meta = nn::load_safetensors(ckpt).metadata;
        auto saved = meta.find("dcodr.config");
        DCODR_CHECK(saved != meta.end(), "--resume: {} has no 'dcodr.config' metadata; not a dcodr checkpoint", ckpt);
        config = resume_config_from(a, json::parse(saved->second));
        if (a.given("init"))
            std::cerr << "note: --init is ignored with --resume: the weights come from " << ckpt << "\n";
        if (a.given("dataset-preset"))
            std::cerr << "note: --dataset-preset is ignored with --resume: the settings come from " << ckpt << "\n";
    }
    if (a.enabled("print-config")) {
        std::cout << config.to_json().dump(2) << "\n";
        return 0;
    }
    config.device = device_from(a);
    check_data_options(a);  // before the output folder is made: a refused command line leaves nothing behind
    method::RunFolder run_folder(a.str("out"), a.enabled("resume"));  // lock, clean, writable, fresh log
    config.out_dir = a.str("out");
    auto [train, test] = load_train_test(a);
    std::cerr << "data: " << train.describe() << "\n";
    if (a.enabled("eval"))  // typos fail now, not after training
        as_usage_error([&] { method::check_eval_options(probe_config_from(a), test); });
    std::int64_t min_images = a.integer("min-domain-images");
    if (!config.dataset_preset.empty()) {
        const method::DatasetPreset& preset = method::find_dataset_preset(config.dataset_preset);
        const std::string note = method::dataset_preset_mismatch(preset, train);
        if (!note.empty()) std::cerr << note << "\n";
        // The authors' CelebA training drops small identities; a filter of the data, not of the
        // saved configuration, so it comes from the preset (also on --resume) unless given.
        if (!a.given("min-domain-images")) min_images = preset.min_domain_images;
    }
    if (min_images < 0) usage_error("--min-domain-images must be 0 or more, got {}", min_images);
    const data::Dataset fit_set = min_images > 1 ? data::keep_domains_with_at_least(train, min_images) : data::Dataset{};
    if (min_images > 1)
        std::cerr << "training on the domains with " << min_images << "+ images: " << fit_set.count << " of "
                  << train.count << " images\n";
    const data::Dataset& fit = min_images > 1 ? fit_set : train;
    std::cerr << "batches: " << method::describe_batches(config, fit.n_domains) << "\n";
    method::Trainer trainer(config, fit);
    if (a.enabled("resume")) {
        trainer.load_checkpoint(ckpt);
        std::cerr << "resumed from " << ckpt << " at step " << trainer.steps_done() << "\n";
    } else if (!config.init.path.empty()) {
        std::cerr << trainer.initialize().describe() << "\n";
    }
    trainer.run();
    std::cerr << "wrote " << config.out_dir << "/encoder.safetensors\n";
    std::optional<method::EvalReport> report;
    if (a.enabled("eval")) {
        report = method::evaluate(trainer.encoder(), train, test, config.image_size, probe_config_from(a),
                                  config.device,
                                  config.reconstruction.enabled ? "DCoDR"
                                                                : method::contrastive_mode_name(config.loss.mode),
                                  true);
        std::cout << method::format_reports({*report});
        json::Value eval = report->to_json();
        eval["config"] = config.to_json();  // what was trained, in the --config format
        write_json(config.out_dir + "/eval.json", eval);
    }
    write_train_outputs(config.out_dir, trainer, train, test, report ? &*report : nullptr,
                        command_line("train", argc, argv));
    return 0;
}

int cmd_eval(int argc, char** argv) {
    Args a("eval", "Evaluate an encoder: domain invariance and attribute informativeness probes, retrieval.", argc,
           argv);
    a.option("weights", "", "encoder.safetensors or checkpoint.safetensors written by dcodr train (required)");
    add_data_options(a);
    add_csv_image_size_option(a);
    add_probe_options(a);
    add_runtime_options(a);
    a.option("json", "", "also write the report as JSON to this file");
    a.option("out", "", "output folder for eval.json, the retrieval pictures and report.html "
                        "(default: <folder of --weights>/eval)");
    if (a.parse()) return 0;
    if (a.str("weights").empty()) usage_error("--weights is required");
    probe_config_from(a);  // refuses bad probe options before loading anything
    Device device = device_from(a);
    method::TrainConfig cfg;
    auto encoder = method::load_encoder(a.str("weights"), device, &cfg);
    auto [train, test] = load_train_test(a);
    const std::string out = eval_out_folder(a.str("out"), a.str("weights"));  // after the inputs proved good
    auto report = method::evaluate(*encoder, train, test, cfg.image_size, probe_config_from(a), device,
                                   std::filesystem::path(a.str("weights")).stem().string(), true);
    std::cout << method::format_reports({report});
    if (!a.str("json").empty()) {
        json::Value eval = report.to_json();
        eval["config"] = cfg.to_json();  // the configuration the weights were trained with
        write_json(a.str("json"), eval);
    }
    write_eval_outputs(out, a.str("weights"), *encoder, cfg, train, test, report, device,
                       command_line("eval", argc, argv));
    return 0;
}

}  // namespace dcodr::tools
