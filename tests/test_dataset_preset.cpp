// --dataset-preset: the authors' per-data-set settings through the real option parser, explicit
// flags winning over them; --sampler / --baseline-batch; resume of a configuration saved before
// the sampler choice existed.
#include <catch2/catch.hpp>

#include "method/dataset_preset.h"
#include "tools/common.h"

using namespace dcodr;

namespace {

// `dcodr train <args>` read into a configuration, as cmd_train does.
method::TrainConfig config_of(std::vector<std::string> argv) {
    std::vector<char*> ptrs;
    for (auto& s : argv) ptrs.push_back(s.data());
    tools::Args a("train", "test", static_cast<int>(ptrs.size()), ptrs.data());
    tools::add_train_options(a);
    a.set_default("epochs", "5");  // like the demo: a preset must still state the authors' 200
    REQUIRE_FALSE(a.parse());
    return tools::train_config_from(a);
}

}  // namespace

TEST_CASE("each preset sets what the authors' scripts set for that data set") {
    struct Expect {
        const char* name;
        double tau;
        std::int64_t baseline_batch;
        bool dcodr_head;
        double dcodr_lr, dcodr_gen_lr;
    };
    for (const Expect& e : {Expect{"cars3d", 0.2, 64, false, 1e-4, 3e-4}, Expect{"smallnorb", 0.2, 64, true, 3e-4, 3e-4},
                            Expect{"shapes3d", 0.1, 64, false, 1e-4, 3e-4}, Expect{"celeba", 0.2, 128, false, 1e-3, 1e-3},
                            Expect{"edges2shoes", 0.1, 128, false, 1e-3, 1e-3}}) {
        INFO(e.name);
        for (bool dcodr : {false, true}) {
            std::vector<std::string> argv = {"--dataset-preset", e.name};
            if (dcodr) argv.push_back("--reconstruction");
            method::TrainConfig c = config_of(argv);
            INFO("with decoder " << dcodr);
            CHECK(c.loss.tau == e.tau);
            CHECK(c.image_size == 64);
            CHECK(c.baseline_batch_size == e.baseline_batch);
            CHECK(c.encoder.head == (dcodr && e.dcodr_head));
            CHECK(c.lr == (dcodr ? e.dcodr_lr : 1e-4));
            CHECK(c.reconstruction.gen_lr == (dcodr ? e.dcodr_gen_lr : 3e-4));
            CHECK(c.reconstruction.embedding_lr == 3e-3);
            CHECK(c.epochs == 200);
            CHECK(c.encoder.code_dim == 128);
            CHECK(c.reconstruction.domain_dim == 256);
            CHECK(c.domains_per_batch == 4);
            CHECK(c.images_per_domain == 32);
            CHECK(c.reconstruction.weight == 0.3);
            CHECK(c.dataset_preset == e.name);
            CHECK(method::TrainConfig::from_json(c.to_json()).dataset_preset == e.name);
        }
    }
    // Their CelebA training drops identities with 19 or fewer images (dcodr train applies it).
    for (const auto& p : method::dataset_presets()) CHECK(p.min_domain_images == (p.name == "celeba" ? 20 : 0));
    // Without a preset nothing is filled in: the flags' own defaults stand.
    method::TrainConfig plain = config_of({});
    CHECK(plain.epochs == 5);
    CHECK(plain.dataset_preset.empty());
}

TEST_CASE("an explicit flag wins over the preset") {
    method::TrainConfig c = config_of({"--dataset-preset", "cars3d", "--tau", "0.5", "--image-size", "32", "--head",
                                       "--epochs", "7", "--baseline-batch-size", "96"});
    CHECK(c.loss.tau == 0.5);
    CHECK(c.image_size == 32);
    CHECK(c.encoder.head);
    CHECK(c.epochs == 7);
    CHECK(c.baseline_batch_size == 96);
    // The flag order does not matter.
    CHECK(config_of({"--tau", "0.3", "--dataset-preset", "shapes3d"}).loss.tau == 0.3);
    // DCoDR on CelebA: an explicit --lr keeps the encoder's rate, the generator's is the preset's;
    // an explicit --gen-lr sets both (the authors' flag).
    method::TrainConfig lr = config_of({"--dataset-preset", "celeba", "--reconstruction", "--lr", "5e-5"});
    CHECK(lr.lr == 5e-5);
    CHECK(lr.reconstruction.gen_lr == 1e-3);
    method::TrainConfig gen = config_of({"--dataset-preset", "celeba", "--reconstruction", "--gen-lr", "2e-4"});
    CHECK(gen.lr == 2e-4);
    CHECK(gen.reconstruction.gen_lr == 2e-4);
}

TEST_CASE("bad presets and sampler names are refused, naming the flag") {
    REQUIRE_THROWS_WITH(config_of({"--dataset-preset", "mnist"}),
                        Catch::Contains("--dataset-preset") && Catch::Contains("mnist") && Catch::Contains("cars3d"));
    REQUIRE_THROWS_WITH(config_of({"--sampler", "random"}), Catch::Contains("--sampler"));
    REQUIRE_THROWS_WITH(config_of({"--baseline-batch", "big"}), Catch::Contains("--baseline-batch"));
    data::Dataset grey;
    grey.source = "norb.npz";
    grey.channels = 1;
    CHECK(method::dataset_preset_mismatch(method::find_dataset_preset("smallnorb"), grey).empty());
    CHECK_THAT(method::dataset_preset_mismatch(method::find_dataset_preset("cars3d"), grey),
               Catch::Contains("3-channel") && Catch::Contains("norb.npz"));
}

TEST_CASE("sampler choice: defaults are the authors', and which batches a run uses") {
    method::TrainConfig c = config_of({});
    CHECK(c.sampler == "authors");
    CHECK(c.baseline_batch == "shuffled");
    CHECK(c.baseline_batch_size == 64);
    CHECK(method::sampler_options(c).kind == data::SamplerKind::authors);
    // The baseline draws ordinary shuffled batches unless asked for balanced ones.
    method::TrainConfig base = config_of({"--loss", "standard"});
    CHECK(method::sampler_options(base).kind == data::SamplerKind::shuffled);
    CHECK_THAT(method::describe_batches(base), Catch::Contains("shuffled batches of 64") && Catch::Contains("63"));
    method::TrainConfig balanced = config_of({"--loss", "standard", "--baseline-batch", "balanced", "--sampler",
                                              "coverage"});
    CHECK(method::sampler_options(balanced).kind == data::SamplerKind::coverage);
    CHECK_THAT(method::describe_batches(balanced), Catch::Contains("coverage sampler"));
}

TEST_CASE("resume of a configuration saved before the sampler choice keeps its coverage sampler") {
    method::TrainConfig trained = config_of({"--sampler", "coverage", "--steps", "3"});
    const json::Value full = trained.to_json();
    json::Value saved = json::Value::object();
    for (const auto& [key, value] : full.as_object())
        if (key != "sampler" && key != "baseline_batch" && key != "baseline_batch_size" && key != "dataset_preset")
            saved[key] = value;
    std::vector<std::string> argv = {"--steps", "6"};
    std::vector<char*> ptrs;
    for (auto& s : argv) ptrs.push_back(s.data());
    tools::Args a("train", "test", static_cast<int>(ptrs.size()), ptrs.data());
    tools::add_train_options(a);
    REQUIRE_FALSE(a.parse());
    method::TrainConfig resumed = tools::resume_config_from(a, saved);
    CHECK(resumed.sampler == "coverage");  // not this version's default
    CHECK(resumed.baseline_batch == "balanced");
    CHECK(resumed.max_steps == 6);        // explicit flags still win
}
