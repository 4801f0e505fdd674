// Every known-bad input is refused with a message that says what is wrong, never a crash, a
// hang or a silent result (issue 12). The committed corpus is tests/bad_inputs (expected.tsv
// pairs each file with the text its error must contain); the rest are built here.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/npy.h"
#include "data/sampler.h"
#include "method/checkpoint_guards.h"
#include "method/run_folder.h"
#include "nn/finite_check.h"
#include "nn/json.h"
#include "nn/safetensors.h"
#include "test_util.h"
#include "tools/args.h"
#include "tools/option_checks.h"
#include "train_fixtures.h"

using namespace dcodr;
namespace fs = std::filesystem;

namespace {

std::string corpus_dir() { return (fs::path(testing::fixture_path("")).parent_path().parent_path() / "bad_inputs").string(); }

// Loads `path` with the reader its extension names.
void load_any(const std::string& path) {
    auto ext = fs::path(path).extension().string();
    if (ext == ".npz" || ext == ".csv") data::load_dataset(path);
    else if (ext == ".png" || ext == ".jpg" || ext == ".bmp" || ext == ".pgm") data::load_image(path);
    else if (ext == ".json") {
        std::ifstream f(path);
        std::stringstream s;
        s << f.rdbuf();
        json::parse(s.str());
    } else if (ext == ".safetensors") nn::load_safetensors(path);
    else if (ext == ".npy") data::load_npy(path);
    else FAIL("no reader for " << path);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("every file of the bad-input corpus is refused with its expected message") {
    std::ifstream list(corpus_dir() + "/expected.tsv");
    REQUIRE(list.good());
    std::string line;
    int cases = 0;
    while (std::getline(list, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto tab = line.find('\t');
        REQUIRE(tab != std::string::npos);
        const std::string file = line.substr(0, tab), expect = line.substr(tab + 1);
        INFO(file);
        std::string msg = error_of([&] { load_any(corpus_dir() + "/" + file); });
        INFO(msg);
        CHECK(msg != "(no error)");
        CHECK(msg.find(expect) != std::string::npos);
        ++cases;
    }
    CHECK(cases >= 16);
}

TEST_CASE("a FIFO is refused, not opened (fopen on it blocks forever)") {
    auto dir = testing::temp_dir("fifo");
    const std::string fifo = dir + "/pipe.npz";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    CHECK_THAT(error_of([&] { data::load_dataset(fifo); }), Catch::Contains("is a FIFO"));
    fs::copy_file(corpus_dir() + "/small_a.png", dir + "/a.png");
    REQUIRE(::mkfifo((dir + "/b.png").c_str(), 0644) == 0);
    write(dir + "/labels.csv", "path,domain\na.png,0\nb.png,1\n");
    CHECK_THAT(error_of([&] { data::load_dataset(dir + "/labels.csv"); }),
               Catch::Contains("line 3") && Catch::Contains("is a FIFO"));
    CHECK_THAT(error_of([&] { data::load_image(dir + "/b.png"); }), Catch::Contains("is a FIFO"));
    fs::remove_all(dir);
}

TEST_CASE("a CSV with a UTF-8 byte-order mark reads its header") {
    auto rows = data::parse_csv("\xEF\xBB\xBFpath,domain\na.png,0\n", "bom.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].fields[0] == "path");
}

TEST_CASE("CSV images of different sizes are resized to the target when one is given") {
    data::CsvOptions o;
    o.mixed_size_target = 8;
    data::Dataset ds = data::load_dataset(corpus_dir() + "/mixed_sizes.csv", o);
    CHECK(ds.height == 8);
    CHECK(ds.width == 8);
    CHECK(ds.count == 2);
}

TEST_CASE("size products are overflow-checked") {
    CHECK_THAT(error_of([] { shape_numel({200, std::int64_t{1} << 32, std::int64_t{1} << 32}); }),
               Catch::Contains("too many elements"));
    data::Dataset ds;
    ds.source = "crafted";
    ds.count = 200;
    ds.height = ds.width = std::int64_t{1} << 32;
    ds.channels = 1;
    ds.n_domains = 1;
    ds.domains.assign(200, 0);
    CHECK_THAT(error_of([&] { ds.validate(); }), Catch::Contains("does not fit in 64 bits"));
    CHECK_THAT(error_of([] { data::CoverageSampler({0, 1}, 2, 2, std::int64_t{1} << 62, 0); }),
               Catch::Contains("too large"));
}

TEST_CASE("a plain path,domain data set (no attributes) can be subset") {
    auto ds = testing::tiny_shapes(16);
    ds.attributes.clear();
    ds.attribute_names.clear();
    ds.attribute_classes.clear();
    ds.attribute_value_names.clear();
    auto sub = ds.subset({3, 1});
    CHECK(sub.count == 2);
    CHECK(sub.attributes.empty());
    CHECK(sub.domains[0] == ds.domains[3]);
}

TEST_CASE("a split that leaves one side empty is an error that names the flags") {
    auto ds = testing::tiny_shapes(16);
    CHECK_THAT(error_of([&] { data::train_test_split(ds, 0.001, 1); }), Catch::Contains("--test-fraction"));
}

TEST_CASE("checkpoint integers are parsed strictly and range-checked") {
    nn::SafetensorsMetadata meta{{"dcodr.step", "12"}, {"bad", "x12"}, {"neg", "-5"}};
    CHECK(method::checkpoint_int(meta, "c", "dcodr.step", 0, 100) == 12);
    CHECK_THAT(error_of([&] { method::checkpoint_int(meta, "c", "bad", 0, 100); }),
               Catch::Contains("'bad' must be an integer, got 'x12'"));
    CHECK_THAT(error_of([&] { method::checkpoint_int(meta, "c", "neg", 0, 100); }),
               Catch::Contains("'neg' is -5, out of range"));
}

TEST_CASE("the data fingerprint tells data sets apart") {
    auto a = testing::tiny_shapes(16, 3), b = testing::tiny_shapes(16, 3);
    CHECK(method::data_fingerprint(a) == method::data_fingerprint(b));
    b.pixels_u8[5] ^= 1;
    CHECK(method::data_fingerprint(a) != method::data_fingerprint(b));
    nn::SafetensorsMetadata meta;
    method::write_checkpoint_guards(meta, a);
    CHECK_NOTHROW(method::check_checkpoint_guards(meta, a, "c"));
    CHECK_THAT(error_of([&] { method::check_checkpoint_guards(meta, b, "c"); }),
               Catch::Contains("trained on different data"));
}

TEST_CASE("a resumed checkpoint with a bad step or other data is refused") {
    auto data = testing::tiny_shapes(48);
    auto config = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    auto dir = testing::temp_dir("guards");
    method::Trainer t(config, data);
    t.save_checkpoint(dir + "/ckpt.safetensors");
    auto content = nn::load_safetensors(dir + "/ckpt.safetensors");
    CHECK(content.metadata.count("dcodr.data_fingerprint"));
    content.metadata["dcodr.step"] = "-5";
    nn::save_safetensors(dir + "/neg.safetensors", content.tensors, content.metadata);
    method::Trainer t2(config, data);
    CHECK_THAT(error_of([&] { t2.load_checkpoint(dir + "/neg.safetensors"); }), Catch::Contains("is -5, out of range"));
    auto other = testing::tiny_shapes(48, 4);
    method::Trainer t3(config, other);
    CHECK_THAT(error_of([&] { t3.load_checkpoint(dir + "/ckpt.safetensors"); }),
               Catch::Contains("trained on different data"));
    fs::remove_all(dir);
}

TEST_CASE("weights holding NaN are refused when loaded") {
    std::vector<nn::NamedTensor> ok{{"w", Tensor::from_vector(std::vector<float>{1, 2}, {2})}};
    CHECK_NOTHROW(nn::require_finite(ok, "f"));
    std::vector<nn::NamedTensor> bad{{"w", Tensor::from_vector(std::vector<float>{1, std::nanf("")}, {2})}};
    CHECK_THAT(error_of([&] { nn::require_finite(bad, "f"); }), Catch::Contains("tensor 'w' holds 1 non-finite"));
    auto dir = testing::temp_dir("nanw");
    auto config = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    auto data = testing::tiny_shapes(48);
    method::Trainer t(config, data);
    t.save_weights(dir + "/enc.safetensors");
    auto content = nn::load_safetensors(dir + "/enc.safetensors");
    content.tensors[0].tensor.data<float>()[0] = std::nanf("");
    nn::save_safetensors(dir + "/nan.safetensors", content.tensors, content.metadata);
    CHECK_THAT(error_of([&] { method::load_encoder(dir + "/nan.safetensors", Device()); }),
               Catch::Contains("non-finite"));
    fs::remove_all(dir);
}

TEST_CASE("the output folder is locked, cleaned, checked and given a fresh log") {
    CHECK_THAT(error_of([] { method::RunFolder f("", false); }), Catch::Contains("--out must name"));
    auto dir = testing::temp_dir("runfolder");
    write(dir + "/afile", "x");
    CHECK_THAT(error_of([&] { method::RunFolder f(dir + "/afile/sub", false); }), Catch::Contains("cannot create"));
    const std::string out = dir + "/run";
    fs::create_directories(out);
    // A temp file of a writer that died (a real, reaped pid) and one of a live process (ours).
    pid_t child = fork();
    if (child == 0) _exit(0);
    ::waitpid(child, nullptr, 0);
    write(out + "/checkpoint.safetensors.tmp." + std::to_string(child), "partial");
    write(out + "/eval.json.tmp." + std::to_string(::getpid()), "live");
    write(out + "/notes.txt.tmp." + std::to_string(child), "the user's");  // not ours: kept
    write(out + "/train_log.jsonl", "{\"step\": 1}\n");
    {
        method::RunFolder first(out, /*resume=*/true);
        CHECK(first.removed_temp_files() == 1);
        CHECK(!fs::exists(out + "/checkpoint.safetensors.tmp." + std::to_string(child)));
        CHECK(fs::exists(out + "/eval.json.tmp." + std::to_string(::getpid())));
        CHECK(fs::exists(out + "/notes.txt.tmp." + std::to_string(child)));
        CHECK(fs::exists(out + "/train_log.jsonl"));  // resume appends to its run's log
        CHECK_THAT(error_of([&] { method::RunFolder second(out, true); }), Catch::Contains("in use by another"));
    }
    method::RunFolder fresh(out, /*resume=*/false);  // the lock was released with `first`
    CHECK(!fs::exists(out + "/train_log.jsonl"));
    fs::remove_all(dir);
}

TEST_CASE("numeric options are range-checked with messages that name the flag") {
    auto ok = testing::tiny_config(method::ContrastiveMode::domain_wise, 5);
    CHECK_NOTHROW(tools::check_train_config(ok));
    CHECK_NOTHROW(tools::check_train_config(method::TrainConfig{}));  // the paper's defaults
    auto bad = [&](auto edit, const char* flag) {
        auto c = ok;
        edit(c);
        CHECK_THAT(error_of([&] { tools::check_train_config(c); }), Catch::StartsWith(std::string("--") + flag));
    };
    bad([](auto& c) { c.max_steps = -5; }, "steps");
    bad([](auto& c) { c.epochs = 0; }, "epochs");
    bad([](auto& c) { c.epochs = -1; }, "epochs");
    bad([](auto& c) { c.loss.tau = INFINITY; }, "tau");
    bad([](auto& c) { c.loss.tau = 1e-30; }, "tau");
    bad([](auto& c) { c.lr = -1; }, "lr");
    bad([](auto& c) { c.beta1 = 2; }, "beta1");
    bad([](auto& c) { c.beta2 = 1; }, "beta2");
    bad([](auto& c) { c.lr_gamma = NAN; }, "lr-gamma");
    bad([](auto& c) { c.image_size = 100000; }, "image-size");
    bad([](auto& c) { c.images_per_domain = 1000000; }, "images-per-domain");
    bad([](auto& c) {
        c.images_per_domain = 65536;
        c.image_size = 512;
    }, "images-per-domain");
    bad([](auto& c) { c.encoder.width = NAN; }, "width");
    bad([](auto& c) { c.checkpoint_every = -1; }, "checkpoint-every");
    // The rest of docs/reliability.md's table, one value outside each range.
    bad([](auto& c) { c.encoder.width = 1.0 / 128; }, "width");
    bad([](auto& c) { c.encoder.depth = 20; }, "depth");
    bad([](auto& c) { c.encoder.hidden = 0; }, "hidden");
    bad([](auto& c) { c.encoder.code_dim = 65537; }, "code-dim");
    bad([](auto& c) { c.image_size = 15; }, "image-size");
    bad([](auto& c) { c.domains_per_batch = 4097; }, "domains-per-batch");
    bad([](auto& c) { c.images_per_domain = 1; }, "images-per-domain");
    bad([](auto& c) { c.max_steps = (std::int64_t{1} << 40) + 1; }, "steps");
    bad([](auto& c) { c.epochs = 1000001; }, "epochs");
    bad([](auto& c) { c.lr_step_epochs = 0; }, "lr-step-epochs");
    bad([](auto& c) { c.lr = 11; }, "lr");
    bad([](auto& c) { c.beta1 = 1; }, "beta1");
    bad([](auto& c) { c.lr_gamma = 0; }, "lr-gamma");
    bad([](auto& c) { c.clip_grad_norm = -1; }, "clip-grad-norm");
    bad([](auto& c) { c.clip_grad_norm = NAN; }, "clip-grad-norm");
    method::ProbeConfig p;
    CHECK_NOTHROW(tools::check_probe_config(p));
    auto bad_probe = [&](auto edit, const char* flag) {
        auto q = p;
        edit(q);
        CHECK_THAT(error_of([&] { tools::check_probe_config(q); }), Catch::StartsWith(std::string("--") + flag));
    };
    bad_probe([](auto& q) { q.batch_size = 1; }, "probe-batch");
    bad_probe([](auto& q) { q.max_epochs = 0; }, "probe-epochs");
    bad_probe([](auto& q) { q.patience = 0; }, "probe-patience");
    bad_probe([](auto& q) { q.lr = NAN; }, "probe-lr");
    bad_probe([](auto& q) { q.batch_size = (1 << 20) + 1; }, "probe-batch");
    CHECK_THAT(error_of([] { tools::checked_threads(100000); }), Catch::StartsWith("--threads"));
    CHECK(tools::checked_threads(0) == 0);
    CHECK(tools::checked_threads(1) == 1);
    CHECK(tools::checked_threads(1000) <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}
