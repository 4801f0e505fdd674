// Checkpoint -> resume reproduces an uninterrupted run exactly, and checkpoints are written
// atomically and validated on load.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "autograd/functional.h"
#include "method/evaluation.h"
#include "method/run_folder.h"
#include "nn/json.h"
#include "nn/safetensors.h"
#include "tests/test_util.h"
#include "tests/train_fixtures.h"

using namespace dcodr;

static std::vector<double> losses(const std::vector<method::StepRecord>& r) {
    std::vector<double> v;
    for (auto& s : r) v.push_back(s.loss);
    return v;
}

TEST_CASE("resume from a checkpoint gives the same loss sequence as an uninterrupted run") {
    auto ds = testing::tiny_shapes(160);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 6);
    std::vector<double> full;
    {
        method::Trainer t(cfg, ds);
        full = losses(t.run());
    }
    REQUIRE(full.size() == 6);
    std::string dir = testing::temp_dir("resume");
    std::string ckpt = dir + "/checkpoint.safetensors";
    std::vector<double> resumed;
    {
        auto c3 = cfg;
        c3.max_steps = 3;
        method::Trainer t(c3, ds);
        resumed = losses(t.run());
        t.save_checkpoint(ckpt);
    }
    {
        method::Trainer t(cfg, ds);
        t.load_checkpoint(ckpt);
        REQUIRE(t.steps_done() == 3);
        auto rest = losses(t.run());
        resumed.insert(resumed.end(), rest.begin(), rest.end());
    }
    REQUIRE(resumed == full);  // bitwise: same batches, augmentations, weights and moments
}

TEST_CASE("with the decoder: resume is bitwise exact, and checkpoints say which variant they hold") {
    auto ds = testing::tiny_shapes(160);
    auto cfg = testing::tiny_decoder_config(6);
    std::vector<method::StepRecord> full;
    {
        method::Trainer t(cfg, ds);
        full = t.run();
    }
    std::string dir = testing::temp_dir("resume_decoder");
    std::string ckpt = dir + "/checkpoint.safetensors";
    std::vector<method::StepRecord> resumed;
    {
        auto c3 = cfg;
        c3.max_steps = 3;
        method::Trainer t(c3, ds);
        resumed = t.run();
        t.save_checkpoint(ckpt);
    }
    {
        method::Trainer t(cfg, ds);
        t.load_checkpoint(ckpt);
        auto rest = t.run();
        resumed.insert(resumed.end(), rest.begin(), rest.end());
    }
    REQUIRE(resumed.size() == full.size());
    for (std::size_t i = 0; i < full.size(); ++i) {
        INFO("step " << i + 1);
        REQUIRE(resumed[i].loss == full[i].loss);
        REQUIRE(resumed[i].reconstruction == full[i].reconstruction);
        REQUIRE(resumed[i].contrastive == full[i].contrastive);
        REQUIRE(full[i].reconstruction > 0);
        // loss = contrastive + 0.3 * reconstruction (float32 rounding of the sum)
        REQUIRE(full[i].loss == Approx(full[i].contrastive + 0.3 * full[i].reconstruction).epsilon(1e-5));
    }
    // The checkpoint holds the decoder and its Adam moments.
    auto content = nn::load_safetensors(ckpt);
    std::size_t decoder_tensors = 0, decoder_moments = 0;
    for (auto& nt : content.tensors) {
        decoder_tensors += nt.name.rfind("decoder.", 0) == 0;
        decoder_moments += nt.name.rfind("optim.adam.decoder.", 0) == 0;
    }
    REQUIRE(decoder_tensors == 27);  // embedding, 4 x 2 modulation, 3 x 2 trunk, 4 x 2 + 2 x 2 convolutions
    REQUIRE(decoder_moments == 2 * decoder_tensors);
    // The variants do not mix: a DCoDR checkpoint cannot resume a norec run, nor the reverse.
    method::Trainer norec(testing::tiny_config(method::ContrastiveMode::domain_wise, 6), ds);
    REQUIRE_THROWS_WITH(norec.load_checkpoint(ckpt), Catch::Contains("--reconstruction"));
    REQUIRE_NOTHROW(method::load_decoder(ckpt, Device::cpu()));
    REQUIRE(method::load_decoder(ckpt, Device::cpu())->config().n_domains == ds.n_domains);
    std::string plain = dir + "/norec.safetensors";
    norec.save_checkpoint(plain);
    REQUIRE_THROWS_WITH(method::load_decoder(plain, Device::cpu()), Catch::Contains("without --reconstruction"));
    method::Trainer with_decoder(cfg, ds);
    REQUIRE_THROWS_WITH(with_decoder.load_checkpoint(plain), Catch::Contains("no decoder"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint that does not match the model is rejected without touching it") {
    auto ds = testing::tiny_shapes(80);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    std::string dir = testing::temp_dir("badckpt");
    std::string path = dir + "/other.safetensors";
    nn::save_safetensors(path, {{"model.conv1.weight", Tensor::zeros({2, 2})}});
    method::Trainer t(cfg, ds);
    auto before = t.encoder().proj->weight.to_vector();
    REQUIRE_THROWS_WITH(t.load_checkpoint(path), Catch::Contains(path) && Catch::Contains("missing"));
    REQUIRE(t.encoder().proj->weight.to_vector() == before);
    std::ofstream(dir + "/garbage.safetensors") << "not a checkpoint";
    REQUIRE_THROWS_WITH(t.load_checkpoint(dir + "/garbage.safetensors"), Catch::Contains("garbage.safetensors"));
}

TEST_CASE("saved encoder weights load back into an identical encoder") {
    auto ds = testing::tiny_shapes(80);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    std::string dir = testing::temp_dir("weights");
    method::Trainer t(cfg, ds);
    t.run();
    t.save_weights(dir + "/encoder.safetensors");
    auto enc = method::load_encoder(dir + "/encoder.safetensors", Device::cpu());
    Tensor x = Tensor::uniform({2, 3, 16, 16}, 0, 1, 9);
    t.encoder().eval();
    NoGradGuard ng;
    REQUIRE_CLOSE(enc->encode(x), t.encoder().encode(x), 0, 0);
    // Names are the model's own (no prefix), so PyTorch code loads them with load_state_dict.
    auto content = nn::load_safetensors(dir + "/encoder.safetensors");
    REQUIRE(content.find("resnet.conv1.weight") != nullptr);
    REQUIRE(content.find("proj.weight") != nullptr);
}

namespace {
std::vector<double> run_with_resume(const method::TrainConfig& cfg, const data::Dataset& ds, std::int64_t stop_at,
                                    const std::string& dir) {
    std::string ckpt = dir + "/checkpoint.safetensors";
    std::vector<double> out;
    {
        auto first = cfg;
        first.max_steps = stop_at;
        method::Trainer t(first, ds);
        out = losses(t.run());
        t.save_checkpoint(ckpt);
    }
    method::Trainer t(cfg, ds);
    t.load_checkpoint(ckpt);
    auto rest = losses(t.run());
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}
}  // namespace

TEST_CASE("resume is bitwise with every sampler, across an epoch boundary") {
    auto ds = testing::tiny_shapes(160);  // 4 domains; 4 x 8 images: 5 batches an epoch
    struct Case {
        const char* sampler;
        method::ContrastiveMode mode;
        const char* baseline_batch;
    };
    for (const Case& k : {Case{"authors", method::ContrastiveMode::domain_wise, "shuffled"},
                          Case{"coverage", method::ContrastiveMode::domain_wise, "shuffled"},
                          Case{"authors", method::ContrastiveMode::standard, "shuffled"},
                          Case{"coverage", method::ContrastiveMode::standard, "balanced"}}) {
        auto cfg = testing::tiny_config(k.mode, 7);
        cfg.sampler = k.sampler;
        cfg.baseline_batch = k.baseline_batch;
        cfg.baseline_batch_size = 32;
        INFO(method::describe_batches(cfg));
        std::vector<double> full;
        {
            method::Trainer t(cfg, ds);
            full = losses(t.run());
        }
        std::string dir = testing::temp_dir("resume_sampler");
        REQUIRE(run_with_resume(cfg, ds, 4, dir) == full);
        // A checkpoint names its sampler; another sampler's run refuses it.
        auto other = cfg;
        other.sampler = std::string(k.sampler) == "authors" ? "coverage" : "authors";
        other.baseline_batch = "balanced";
        method::Trainer wrong(other, ds);
        REQUIRE_THROWS_WITH(wrong.load_checkpoint(dir + "/checkpoint.safetensors"),
                            Catch::Contains("sampler") && Catch::Contains("resume with the settings"));
        std::filesystem::remove_all(dir);
    }
}

TEST_CASE("a checkpoint written before the sampler choice resumes with the coverage sampler it used") {
    auto ds = testing::tiny_shapes(160);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 6);
    cfg.sampler = "coverage";
    std::vector<double> full;
    {
        method::Trainer t(cfg, ds);
        full = losses(t.run());
    }
    std::string dir = testing::temp_dir("resume_old");
    std::string ckpt = dir + "/checkpoint.safetensors";
    std::vector<double> resumed;
    {
        auto c3 = cfg;
        c3.max_steps = 3;
        method::Trainer t(c3, ds);
        resumed = losses(t.run());
        t.save_checkpoint(ckpt);
    }
    // Make it the old format: no "dcodr.sampler", no sampler keys in the configuration.
    auto content = nn::load_safetensors(ckpt);
    content.metadata.erase("dcodr.sampler");
    json::Value config = json::parse(content.metadata.at("dcodr.config"));
    json::Value old = json::Value::object();
    for (const auto& [key, value] : config.as_object())
        if (key != "sampler" && key != "baseline_batch" && key != "baseline_batch_size" && key != "dataset_preset")
            old[key] = value;
    content.metadata["dcodr.config"] = old.dump();
    nn::save_safetensors(ckpt, content.tensors, content.metadata);
    // Its configuration reads back as what it trained with.
    method::TrainConfig read = method::TrainConfig::from_json(old);
    REQUIRE(read.sampler == "coverage");
    REQUIRE(read.baseline_batch == "balanced");
    read.max_steps = 6;
    read.quiet = true;
    {
        method::Trainer t(read, ds);
        t.load_checkpoint(ckpt);
        auto rest = losses(t.run());
        resumed.insert(resumed.end(), rest.begin(), rest.end());
    }
    REQUIRE(resumed == full);
    // This version's default sampler refuses it, saying why.
    method::Trainer authors(testing::tiny_config(method::ContrastiveMode::domain_wise, 6), ds);
    REQUIRE_THROWS_WITH(authors.load_checkpoint(ckpt), Catch::Contains("coverage sampler"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("with --head, the saved encoder carries the head and its output is the code everywhere") {
    auto ds = testing::tiny_shapes(80);
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 2);
    cfg.encoder.head = true;
    std::string dir = testing::temp_dir("head");
    method::Trainer t(cfg, ds);
    t.run();
    t.save_weights(dir + "/encoder.safetensors");
    t.save_checkpoint(dir + "/checkpoint.safetensors");
    auto content = nn::load_safetensors(dir + "/encoder.safetensors");
    for (const char* name : {"head.0.weight", "head.0.bias", "head.2.weight", "head.4.weight", "head.4.bias"})
        REQUIRE(content.find(name) != nullptr);
    REQUIRE(content.metadata.at("dcodr.code") == "head");
    for (const std::string file : {"encoder.safetensors", "checkpoint.safetensors"}) {
        INFO(file);
        auto enc = method::load_encoder(dir + "/" + file, Device::cpu());
        REQUIRE(enc->head);
        auto some = ds.subset({0, 1, 2, 3, 4});
        // What encode / eval / retrieval use ...
        Tensor codes = method::encode_dataset(*enc, some, cfg.image_size, Device::cpu());
        // ... is the normalised head output, computed here by hand from the trained weights ...
        NoGradGuard ng;
        Tensor images = data::load_batch(some, {0, 1, 2, 3, 4}, {cfg.image_size, cfg.image_size, 3});
        t.encoder().eval();
        Tensor x = t.encoder().projection(images);
        Tensor by_hand = l2_normalize(t.encoder().head->forward(x), 1);
        REQUIRE_CLOSE(codes, by_hand, 1e-6, 1e-5);
        // ... and not the code layer's output before the head (what was evaluated before).
        REQUIRE(testing::compare(codes, l2_normalize(x, 1), 1e-3, 0) != "");
    }
    // Without a head the code is the projection, and the file says so.
    auto plain_cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    method::Trainer plain(plain_cfg, ds);
    plain.save_weights(dir + "/plain.safetensors");
    REQUIRE(nn::load_safetensors(dir + "/plain.safetensors").metadata.at("dcodr.code") == "projection");
    // A file whose flag contradicts its configuration is refused, naming the field.
    content.metadata["dcodr.code"] = "projection";
    nn::save_safetensors(dir + "/contradicts.safetensors", content.tensors, content.metadata);
    REQUIRE_THROWS_WITH(method::load_encoder(dir + "/contradicts.safetensors", Device::cpu()),
                        Catch::Contains("dcodr.code") && Catch::Contains("contradicts.safetensors"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("an epoch is N // 128 batches with the authors' sampler, N // 64 for the shuffled baseline") {
    auto ds = testing::tiny_shapes(300);  // 4 domains of about 75
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 0);
    cfg.images_per_domain = 32;
    cfg.epochs = 3;
    {
        method::Trainer authors(cfg, ds);
        REQUIRE(authors.total_steps() == 3 * (300 / 128));
    }
    auto coverage = cfg;
    coverage.sampler = "coverage";  // every image each epoch: 3 chunks of 32 per domain, 3 batches
    REQUIRE(method::Trainer(coverage, ds).total_steps() == 3 * 3);
    auto baseline = testing::tiny_config(method::ContrastiveMode::standard, 0);
    baseline.epochs = 3;
    baseline.baseline_batch_size = 64;  // the authors' (tiny_config uses 32)
    REQUIRE(method::Trainer(baseline, ds).total_steps() == 3 * (300 / 64));
    baseline.baseline_batch = "balanced";
    baseline.images_per_domain = 32;
    REQUIRE(method::Trainer(baseline, ds).total_steps() == 3 * (300 / 128));
}

static std::vector<std::int64_t> logged_steps(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::int64_t> steps;
    for (std::string line; std::getline(in, line);) steps.push_back(json::parse(line).at("step").as_int());
    return steps;
}

TEST_CASE("a resumed run logs each step once: lines past the checkpoint and a torn line are trimmed") {
    namespace fs = std::filesystem;
    auto ds = testing::tiny_shapes(160);
    const std::string dir = testing::temp_dir("resume_log");
    const std::string ckpt = dir + "/checkpoint.safetensors", log = dir + "/train_log.jsonl";
    auto cfg = testing::tiny_config(method::ContrastiveMode::domain_wise, 2);
    cfg.out_dir = dir;
    {
        method::Trainer t(cfg, ds);
        t.run();  // steps 1-2, checkpoint at step 2
    }
    fs::copy_file(ckpt, dir + "/at_step_2.safetensors");
    {
        auto c = cfg;
        c.max_steps = 4;
        method::Trainer t(c, ds);
        t.load_checkpoint(ckpt);
        t.run();  // steps 3-4 logged ...
    }
    std::ofstream(log, std::ios::app) << R"({"step":5,"epo)";  // ... and a line cut short by a kill,
    fs::rename(dir + "/at_step_2.safetensors", ckpt);          // whose last checkpoint was step 2
    {
        std::ifstream in(log);
        const std::string text{std::istreambuf_iterator<char>(in), {}};
        REQUIRE(std::count(text.begin(), text.end(), '\n') == 4);  // steps 1-4, then the torn line
    }
    {
        auto c = cfg;
        c.max_steps = 5;
        method::Trainer t(c, ds);
        t.load_checkpoint(ckpt);
        t.run();  // steps 3-5 again
    }
    REQUIRE(logged_steps(log) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
    // Nothing to drop: the file is left alone; a missing log stays missing.
    const auto before = fs::last_write_time(log);
    CHECK(method::trim_train_log(log, 5) == 0);
    CHECK(fs::last_write_time(log) == before);
    CHECK(method::trim_train_log(dir + "/none.jsonl", 3) == 0);
    CHECK(!fs::exists(dir + "/none.jsonl"));
    CHECK(method::trim_train_log(log, 2) == 3);
    CHECK(logged_steps(log) == std::vector<std::int64_t>{1, 2});
    fs::remove_all(dir);
}
