#include "tools/report_outputs.h"

#include <filesystem>
#include <iostream>

#include "method/retrieval_picture.h"
#include "nn/atomic_file.h"
#include "report/run_report.h"
#include "tensor/backend.h"
#include "tools/commands.h"

#ifndef DCODR_VERSION
#define DCODR_VERSION "unknown"
#endif

namespace dcodr::tools {

namespace fs = std::filesystem;

namespace {

#ifdef __clang__
constexpr const char* kCompiler = "clang " __clang_version__;
#else
constexpr const char* kCompiler = "GCC " __VERSION__;
#endif

std::vector<std::pair<std::string, std::string>> build_facts(Device device) {
    return {{"dcodr version", DCODR_VERSION},
            {"backends compiled in", compiled_backends()},
            {"device", device.str()},
            {"CPU threads", std::to_string(num_threads())},
            {"compiler", kCompiler}};
}

// Pictures of what the run learned, drawn from the held-out images.
void draw_pictures(const std::string& out, nn::DcodrEncoder& encoder, nn::DcodrDecoder* decoder,
                   const data::Dataset& train, const data::Dataset& test, std::int64_t image_size, Device device,
                   bool retrieval) {
    if (retrieval && test.count > 0)
        method::save_retrieval_picture(out + "/retrieval_other_domains.png", encoder, train, test, image_size, device);
    if (decoder && test.count > 0) write_translation_pictures(encoder, *decoder, test, 8, 10, out + "/translate.png", device);
}

void announce(const report::ReportFiles& files) {
    std::cerr << "wrote " << files.html << " (" << files.charts.size() << " charts beside it as .svg)\n";
}

}  // namespace

std::string command_line(const std::string& command, int argc, char** argv) {
    std::string line = "dcodr " + command;
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        line += ' ';
        line += arg.find_first_of(" \t'\"") == std::string::npos ? arg : "'" + arg + "'";
    }
    return line;
}

void write_train_outputs(const std::string& out, method::Trainer& trainer, const data::Dataset& train,
                         const data::Dataset& test, const method::EvalReport* eval, const std::string& command) {
    const method::TrainConfig& c = trainer.config();
    draw_pictures(out, trainer.encoder(), trainer.decoder(), train, test, c.image_size, c.device, eval != nullptr);
    report::ReportedRun run;
    run.name = c.reconstruction.enabled ? "DCoDR" : method::contrastive_mode_name(c.loss.mode);
    run.eval = eval ? eval->to_json() : json::Value();
    run.config = c.to_json();
    announce(report::write_run_report(out, {"dcodr train: " + out, command, {run}, build_facts(c.device)}));
}

std::string eval_out_folder(const std::string& out, const std::string& weights) {
    const std::string dir = out.empty() ? (fs::path(weights).parent_path() / "eval").string() : out;
    std::error_code ec;
    fs::create_directories(dir, ec);
    DCODR_CHECK(!ec && fs::is_directory(dir), "--out {}: cannot create this folder ({})", dir,
                ec ? ec.message() : "a file of that name exists");
    return dir;
}

void write_eval_outputs(const std::string& out, const std::string& weights, nn::DcodrEncoder& encoder,
                        const method::TrainConfig& config, const data::Dataset& train, const data::Dataset& test,
                        const method::EvalReport& eval, Device device, const std::string& command) {
    nn::write_file_atomic(out + "/eval.json", eval.to_json().dump(2) + "\n");
    // The decoder of a --reconstruction run: in the checkpoint itself, or decoder.safetensors
    // beside encoder.safetensors. Without one, no domain-swap pictures (the rest still comes).
    std::shared_ptr<nn::DcodrDecoder> decoder;
    if (config.reconstruction.enabled) {
        const fs::path beside = fs::path(weights).parent_path() / "decoder.safetensors";
        try {
            decoder = method::load_decoder(weights, device);
        } catch (const std::exception&) {  // encoder.safetensors holds no decoder tensors
            if (fs::exists(beside)) decoder = method::load_decoder(beside.string(), device);
        }
        if (!decoder) std::cerr << "note: no decoder found with " << weights << ": no domain-swap pictures\n";
    }
    draw_pictures(out, encoder, decoder.get(), train, test, config.image_size, device, true);
    report::ReportedRun run;
    run.name = eval.name;
    run.eval = eval.to_json();
    run.config = config.to_json();
    const fs::path log = fs::path(weights).parent_path() / "train_log.jsonl";
    if (fs::exists(log)) run.train_log = fs::relative(log, out).string();
    announce(report::write_run_report(out, {"dcodr eval: " + weights, command, {run}, build_facts(device)}));
}

void write_demo_report(const std::string& out, const json::Value& results, Device device, const std::string& command) {
    report::RunReport r{"dcodr demo: DCoDR, DCoDR-norec and the contrastive baseline", command, {}, build_facts(device)};
    for (const auto& [name, v] : results.as_object()) {
        if (!v.is_object() || !v.contains("folder")) continue;  // e.g. total_seconds
        report::ReportedRun run;
        run.name = name;
        run.folder = v.at("folder").as_string();
        run.eval = v;
        run.config = v.contains("config") ? v.at("config") : json::Value();
        r.runs.push_back(std::move(run));
    }
    announce(report::write_run_report(out, r));
}

}  // namespace dcodr::tools
