// Checkpoint -> resume reproduces an uninterrupted run exactly, and checkpoints are written
// atomically and validated on load.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

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
