// dcodr demo: the README's main job. On the built-in synthetic data (domain = shape), train
// DCoDR (with its decoder), DCoDR-norec and the standard-contrastive baseline with the same small
// ResNet on the CPU, evaluate all three with the paper's protocol and print the tables side by
// side, with DCoDR's domain-swap grid. The two DCoDR variants' domain accuracy should sit near
// chance and below the baseline's; attributes well above chance.
#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>

#include "data/image.h"
#include "method/run_folder.h"
#include "method/retrieval_picture.h"
#include "method/translate.h"
#include "nn/atomic_file.h"
#include "tensor/ops.h"
#include "tools/commands.h"
#include "tools/common.h"
#include "tools/option_checks.h"
#include "tools/report_outputs.h"

namespace dcodr::tools {

namespace {

// The run folder, the name in the table, and the two switches that make each method.
struct Method {
    const char* folder;
    const char* name;
    const char* loss;
    bool reconstruction;
};
constexpr Method kMethods[] = {{"dcodr", "DCoDR", "domain_wise", true},
                               {"domain_wise", "DCoDR-norec", "domain_wise", false},
                               {"standard", "baseline", "standard", false}};

// The demo's generator width: the paper's 256 costs ~10x more per step on a CPU (docs/results.md).
constexpr const char* kDemoGenChannels = "8";

}  // namespace

int cmd_demo(int argc, char** argv) {
    Args a("demo",
           "The main job: train DCoDR (with its decoder), DCoDR-norec and the standard-contrastive baseline on\n"
           "the built-in synthetic data (domain = shape) with a small ResNet, evaluate all three, print them side\n"
           "by side, and draw DCoDR's domain-swap grid.",
           argc, argv);
    add_data_options(a);
    add_train_options(a);
    add_probe_options(a);
    add_runtime_options(a);
    a.option("out", "runs/demo", "output folder (per-run checkpoints, logs, results.json, pictures)");
    // Sized for a 2-core CPU (docs/results.md has the time); every one of these can still be set
    // on the command line. `dcodr train` keeps the paper's defaults. The decoder's rates are the
    // method's scaled as the encoder's is (x10); its generator is narrow (the paper's is 256 wide).
    for (auto [name, value] : {std::pair{"depth", "18"}, {"width", "0.25"}, {"hidden", "256"}, {"steps", "500"},
                               {"lr", "1e-3"}, {"images-per-domain", "32"}, {"probe-epochs", "30"},
                               {"probe-patience", "5"}, {"gen-channels", kDemoGenChannels},
                               {"gen-lr", "3e-3"}, {"embedding-lr", "3e-2"}})
        a.set_default(name, value);
    if (a.parse()) return 0;

    auto t0 = std::chrono::steady_clock::now();
    Device device = device_from(a);
    const std::string out = a.str("out");
    if (out.empty()) usage_error("--out must name an output folder, got an empty path");
    // Bad options are refused before the output folder is made.
    check_data_options(a);
    train_config_from(a);
    probe_config_from(a);
    // The same guard as train's, before any work: locked against a second run, writable, stale
    // temp files removed; for the demo's folder and each method's, where a `dcodr train` could
    // point too.
    method::RunFolder run_folder(out, /*resume=*/false);
    std::deque<method::RunFolder> method_folders;
    for (const Method& m : kMethods) method_folders.emplace_back(out + "/" + m.folder, /*resume=*/false);
    auto [train, test] = load_train_test(a);
    std::cerr << "dcodr demo | backends: " << compiled_backends() << " | device " << device.str() << " | threads "
              << num_threads() << "\ntrain: " << train.describe() << "\ntest:  " << test.describe() << "\n";

    std::vector<method::EvalReport> reports;
    std::string batch_notes;  // which batches each method trained on, printed under the table
    json::Value results = json::Value::object();
    for (const Method& m : kMethods) {
        method::TrainConfig c = train_config_from(a);
        c.loss.mode = method::parse_contrastive_mode(m.loss);
        c.reconstruction.enabled = m.reconstruction;
        c.lr = a.number("lr");  // --gen-lr (the decoder's) must not set the encoder's rate here
        c.device = device;
        c.out_dir = out + "/" + m.folder;
        auto ts = std::chrono::steady_clock::now();
        method::Trainer trainer(c, train);
        auto steps = trainer.run();
        double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
        const std::string name = m.name;
        auto report = method::evaluate(trainer.encoder(), train, test, c.image_size, probe_config_from(a), device,
                                       name, true);
        method::save_retrieval_picture(c.out_dir + "/retrieval_other_domains.png", trainer.encoder(), train, test,
                                       c.image_size, device);
        json::Value r = report.to_json();
        if (trainer.decoder()) {
            write_translation_pictures(trainer.encoder(), *trainer.decoder(), test, 8, 10, c.out_dir + "/translate.png",
                                       device);
            r["reconstruction_error"] =
                method::reconstruction_error(trainer.encoder(), *trainer.decoder(), test, device);
            r["first_reconstruction_loss"] = steps.empty() ? 0.0 : steps.front().reconstruction;
            r["last_reconstruction_loss"] = steps.empty() ? 0.0 : steps.back().reconstruction;
        }
        r["train_seconds"] = train_s;
        r["first_loss"] = steps.empty() ? 0.0 : steps.front().loss;
        r["last_loss"] = steps.empty() ? 0.0 : steps.back().loss;
        r["config"] = c.to_json();
        r["batches"] = method::describe_batches(c, train.n_domains);
        batch_notes += fmt::format("{:<12} {}\n", name + ":", method::describe_batches(c, train.n_domains));
        r["folder"] = m.folder;
        results[name] = r;
        reports.push_back(report);
    }
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    results["total_seconds"] = total;
    nn::write_file_atomic(out + "/results.json", results.dump(2) + "\n");
    write_demo_report(out, results, device, command_line("demo", argc, argv));
    std::cout << "\n" << method::format_reports(reports) << "batches (--sampler, --baseline-batch):\n" << batch_notes;
    if (results.contains("DCoDR"))
        std::cout << fmt::format("\nDCoDR reconstruction error on the test images (mean |x_hat - x|): {:.4f}\n",
                                 results.at("DCoDR").at("reconstruction_error").as_double());
    std::cout << fmt::format("\ntotal {:.0f} s; results in {}/results.json, pictures: {}/*/retrieval_other_domains.png,\n"
                             "DCoDR's domain swaps {}/dcodr/translate.png (each test image, then its code drawn in\n"
                             "every domain) and its reconstructions {}/dcodr/translate_reconstructions.png\n",
                             total, out, out, out, out);
    return 0;
}

}  // namespace dcodr::tools
