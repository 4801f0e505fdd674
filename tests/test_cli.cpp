// The dcodr tool's argument handling: clear errors that name the bad flag or file.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "method/train_options.h"
#include "tests/test_util.h"
#include "tools/args.h"
#include "tools/common.h"

using namespace dcodr;

static tools::Args make(std::vector<std::string>& storage) {
    static std::vector<char*> ptrs;
    ptrs.clear();
    for (auto& s : storage) ptrs.push_back(s.data());
    tools::Args a("train", "test", static_cast<int>(ptrs.size()), ptrs.data());
    a.option("steps", "10", "steps");
    a.option("lr", "1e-4", "learning rate");
    a.flag("resume", "resume");
    return a;
}

TEST_CASE("options parse with defaults, = syntax and flags") {
    std::vector<std::string> argv = {"--steps", "25", "--lr=0.5", "--resume"};
    auto a = make(argv);
    REQUIRE_FALSE(a.parse());
    REQUIRE(a.integer("steps") == 25);
    REQUIRE(a.number("lr") == 0.5);
    REQUIRE(a.enabled("resume"));
    std::vector<std::string> none;
    auto d = make(none);
    d.parse();
    REQUIRE(d.integer("steps") == 10);
    REQUIRE_FALSE(d.enabled("resume"));
}

TEST_CASE("bad command lines name the flag and what was expected") {
    std::vector<std::string> unknown = {"--stpes", "3"};
    auto a = make(unknown);
    REQUIRE_THROWS_WITH(a.parse(), Catch::Contains("unknown option --stpes") && Catch::Contains("--steps"));
    std::vector<std::string> bad = {"--steps", "many"};
    auto b = make(bad);
    b.parse();
    REQUIRE_THROWS_WITH(b.integer("steps"), Catch::Contains("--steps expects an integer, got 'many'"));
    std::vector<std::string> missing = {"--lr"};
    auto c = make(missing);
    REQUIRE_THROWS_WITH(c.parse(), Catch::Contains("--lr needs a value"));
    std::vector<std::string> stray = {"file.npz"};
    auto d = make(stray);
    REQUIRE_THROWS_WITH(d.parse(), Catch::Contains("unexpected argument 'file.npz'"));
    // All of them are usage errors (exit code 2), and none repeats the command's name: dcodr's
    // main adds "dcodr train: error: " once.
    REQUIRE_THROWS_AS(d.parse(), tools::UsageError);
    REQUIRE_THROWS_AS(b.integer("steps"), tools::UsageError);
    REQUIRE_THROWS_WITH(a.parse(), !Catch::Contains("dcodr"));
}

// ---- The training option table (method/train_options.h) and what is derived from it.

// A `dcodr train` command line with the training options, parsed.
static tools::Args train_args(std::vector<std::string> argv) {
    std::vector<char*> ptrs;
    for (auto& s : argv) ptrs.push_back(s.data());
    tools::Args a("train", "test", static_cast<int>(ptrs.size()), ptrs.data());
    tools::add_train_options(a);
    a.parse();
    return a;
}

static std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = testing::temp_dir("cli_config") + "/" + name;
    std::ofstream(path) << text;
    return path;
}

// A configuration with every option away from its default (and still valid).
static method::TrainConfig unusual_config() {
    method::TrainConfig c;
    c.encoder = {34, 0.5, 96, 24, true};
    c.reconstruction = {true, 0.7, 48, 12, 2e-4, 5e-3, "pixel", "vgg.safetensors"};
    c.loss = {0.25, method::ContrastiveMode::standard, 17};
    c.image_size = 48;
    c.domains_per_batch = 3;
    c.images_per_domain = 6;
    c.sampler = "coverage";
    c.baseline_batch = "balanced";
    c.baseline_batch_size = 32;
    c.dataset_preset = "cars3d";
    c.augmentations = "crop,hflip";
    c.lr = 2e-3;
    c.beta1 = 0.8;
    c.beta2 = 0.99;
    c.epochs = 12;
    c.max_steps = 345;
    c.lr_step_epochs = 4;
    c.lr_gamma = 0.5;
    c.clip_grad_norm = 1.5;
    c.seed = 99;
    c.checkpoint_every = 25;
    c.log_every = 3;
    c.init = {"start.pth", "model", "module.", "a=b", true};
    return c;
}

TEST_CASE("every TrainConfig field is an option of the table, once, with its own JSON key and flag") {
    const auto& table = method::train_options();
    method::TrainConfig c;
    std::set<const void*> fields;
    for (const void* p : method::train_config_option_members(c)) fields.insert(p);
    std::set<const void*> rows;
    std::set<std::string> keys, flags;
    for (const auto& o : table) {
        INFO("--" << o.flag);
        REQUIRE(rows.insert(o.member(c)).second);  // no two rows share a field
        REQUIRE(keys.insert(o.key).second);
        REQUIRE(flags.insert(o.flag).second);
        REQUIRE(fields.count(o.member(c)) == 1);   // a row points at a real option field
        const std::set<std::string> groups = {"data", "model", "method", "optimisation", "output"};
        REQUIRE(groups.count(o.group) == 1);
        REQUIRE_FALSE(o.help.empty());
    }
    REQUIRE(rows == fields);  // and every option field has a row
    REQUIRE(c.to_json().size() == table.size());
    REQUIRE(keys.count("max_steps") == 1);  // --steps keeps its historical key
}

TEST_CASE("the configuration JSON round-trips, and each option writes its own key") {
    const method::TrainConfig c = unusual_config();
    const json::Value j = c.to_json();
    const method::TrainConfig back = method::TrainConfig::from_json(json::parse(j.dump()));
    REQUIRE(back.to_json() == j);
    REQUIRE(back.encoder.depth == 34);
    REQUIRE(back.loss.mode == method::ContrastiveMode::standard);
    REQUIRE(back.seed == 99);
    REQUIRE(back.init.strict);
    REQUIRE(back.log_every == 3);
    // Against the defaults, every key differs: unusual_config changes every option, so a row that
    // read or wrote the wrong field would leave one equal.
    const json::Value d = method::TrainConfig{}.to_json();
    for (const auto& [key, value] : j.as_object()) {
        INFO(key);
        REQUIRE(value != d.at(key));
    }
    CHECK_NOTHROW(method::check_train_config(c));
}

TEST_CASE("checkpoints written before the option table still load") {
    // Verbatim from a checkpoint of the previous format (dcodr train --reconstruction ... --steps 1
    // --checkpoint-every 7 --seed 5 --tau 0.2), and the same without the keys added later.
    const std::string with_decoder =
        R"({"depth":18,"width":0.0625,"hidden":8,"code_dim":4,"head":false,"loss":"domain_wise","tau":0.2,)"
        R"("max_negatives":0,"image_size":16,"domains_per_batch":0,"images_per_domain":2,)"
        R"("augmentations":"blur,high_contrast,crop,high_saturation","lr":0.001,"beta1":0.5,"beta2":0.999,)"
        R"("epochs":200,"max_steps":1,"lr_step_epochs":30,"lr_gamma":0.33,"clip_grad_norm":0.0,"seed":5,)"
        R"("reconstruction":true,"reconstruction_weight":0.3,"gen_channels":8,"domain_dim":4,"gen_lr":0.0003,)"
        R"("embedding_lr":0.003,"perceptual":"auto","perceptual_weights":"","init":"","init_key":"",)"
        R"("init_prefix":"","init_map":"","init_strict":false,"checkpoint_every":7})";
    const json::Value old = json::parse(with_decoder);
    const method::TrainConfig c = method::TrainConfig::from_json(old);
    CHECK(c.encoder.depth == 18);
    CHECK(c.encoder.width == 0.0625);
    CHECK(c.loss.tau == 0.2);
    CHECK(c.max_steps == 1);
    CHECK(c.seed == 5);
    CHECK(c.reconstruction.enabled);
    CHECK(c.reconstruction.domain_dim == 4);
    CHECK(c.checkpoint_every == 7);
    CHECK(c.log_every == method::TrainConfig{}.log_every);  // not saved then: the default
    const json::Value now = c.to_json();
    for (const auto& [key, value] : old.as_object()) {
        INFO(key);
        CHECK(now.at(key) == value);  // every old key reads back as written
    }
    // Before the decoder and --init existed, only the first 21 keys were written.
    json::Value norec = json::Value::object();
    for (const auto& [key, value] : old.as_object()) {
        if (key == "reconstruction") break;
        norec[key] = value;
    }
    REQUIRE(norec.size() == 21);
    const method::TrainConfig n = method::TrainConfig::from_json(norec);
    CHECK_FALSE(n.reconstruction.enabled);
    CHECK(n.init.path.empty());
    CHECK(n.encoder.code_dim == 4);
    // A key of the first format missing is an error naming it.
    json::Value broken = norec;
    broken.as_object().erase(broken.as_object().begin());
    REQUIRE_THROWS_WITH(method::TrainConfig::from_json(broken), Catch::Contains("'depth'"));
    // Resuming it: the checkpoint's values, except the flags given.
    auto a = train_args({"--steps", "9"});
    const method::TrainConfig r = tools::resume_config_from(a, old);
    CHECK(r.max_steps == 9);
    CHECK(r.encoder.hidden == 8);
    CHECK(r.reconstruction.enabled);
}

TEST_CASE("no flags give the defaults; --print-config's JSON is the defaults' JSON") {
    const json::Value printed = json::parse(tools::train_config_from(train_args({})).to_json().dump(2));
    REQUIRE(printed == method::TrainConfig{}.to_json());
    // and a default shown in --help is the default used
    auto a = train_args({});
    REQUIRE_THAT(a.help(), Catch::Contains("--lr <0.0001>") && Catch::Contains("--depth <50>"));
}

TEST_CASE("--config: the file's values, flags given explicitly win; unknown keys and bad values name the file") {
    const std::string path = write_temp("run.json", R"({"depth": 18, "lr": 0.01, "max_steps": 7, "head": true})");
    const method::TrainConfig c = tools::train_config_from(train_args({"--config", path, "--lr", "0.002"}));
    CHECK(c.encoder.depth == 18);
    CHECK(c.max_steps == 7);
    CHECK(c.encoder.head);
    CHECK(c.lr == 0.002);                          // the flag wins over the file
    CHECK(c.encoder.hidden == 2048);               // neither: the default
    // --print-config's output is a valid --config and reproduces the configuration.
    const std::string printed = write_temp("printed.json", c.to_json().dump(2));
    CHECK(tools::train_config_from(train_args({"--config", printed})).to_json() == c.to_json());

    const std::string unknown = write_temp("typo.json", R"({"lr": 0.01, "learning_rate": 0.1})");
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--config", unknown})),
                        Catch::Contains("typo.json") && Catch::Contains("unknown key 'learning_rate'"));
    REQUIRE_THROWS_AS(tools::train_config_from(train_args({"--config", unknown})), tools::UsageError);
    const std::string wrong_type = write_temp("type.json", R"({"depth": "fifty"})");
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--config", wrong_type})),
                        Catch::Contains("type.json") && Catch::Contains("'depth'"));
    const std::string out_of_range = write_temp("range.json", R"({"tau": -1})");
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--config", out_of_range})),
                        Catch::Contains("range.json") && Catch::Contains("--tau must be"));
    // ... unless the flag replaces the bad value? No: the file itself is wrong, say so.
    REQUIRE_THROWS_AS(tools::train_config_from(train_args({"--config", out_of_range, "--tau", "0.2"})),
                      tools::UsageError);
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--config", path + ".missing"})),
                        Catch::Contains("run.json.missing"));
    const std::string not_object = write_temp("list.json", "[1, 2]");
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--config", not_object})),
                        Catch::Contains("list.json") && Catch::Contains("JSON object"));
}

TEST_CASE("resume: the checkpoint's configuration, --config and explicit flags over it, --init always saved") {
    method::TrainConfig saved_config = unusual_config();
    const json::Value saved = saved_config.to_json();
    auto same = tools::resume_config_from(train_args({}), saved);
    CHECK(same.to_json() == saved);  // nothing given: exactly the checkpoint's
    auto longer = tools::resume_config_from(train_args({"--steps", "1000", "--init", "other.pth"}), saved);
    CHECK(longer.max_steps == 1000);
    CHECK(longer.init.path == "start.pth");  // where the weights came from stays the checkpoint's
    CHECK(longer.lr == saved_config.lr);
    const std::string file = write_temp("resume.json", R"({"epochs": 20, "lr": 0.004})");
    auto with_file = tools::resume_config_from(train_args({"--config", file, "--lr", "0.003"}), saved);
    CHECK(with_file.epochs == 20);
    CHECK(with_file.lr == 0.003);
    CHECK(with_file.encoder.depth == 34);
    // --gen-lr also sets the encoder's rate (the authors' flag), unless --lr is given too.
    auto gen = tools::resume_config_from(train_args({"--gen-lr", "0.005"}), saved);
    CHECK(gen.lr == 0.005);
    CHECK(gen.reconstruction.gen_lr == 0.005);
    auto both = tools::train_config_from(train_args({"--gen-lr", "0.005", "--lr", "0.001"}));
    CHECK(both.lr == 0.001);
    CHECK(both.reconstruction.gen_lr == 0.005);
    // A bad --gen-lr is blamed on --gen-lr, not on the --lr it would set.
    REQUIRE_THROWS_WITH(tools::train_config_from(train_args({"--gen-lr", "-1"})), Catch::StartsWith("--gen-lr must"));
}

TEST_CASE("train --help lists the options under their groups") {
    const std::string help = train_args({}).help();
    std::size_t at = 0;
    for (const char* heading : {"data options:", "model options:", "method options:", "optimisation options:",
                                "output options:", "runtime options:"}) {
        INFO(heading);
        const std::size_t p = help.find(heading);
        REQUIRE(p != std::string::npos);
        REQUIRE(p >= at);  // in this order
        at = p;
    }
    // Each option under its own group: --tau between "method options:" and the next heading.
    const std::size_t method = help.find("method options:"), optim = help.find("optimisation options:");
    const std::size_t tau = help.find("--tau ");
    CHECK((tau > method && tau < optim));
    CHECK(help.find("--config ") > help.find("runtime options:"));
}
