// Checkpoint -> resume reproduces an uninterrupted run exactly, and checkpoints are written
// atomically and validated on load.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

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
