// Checkpoint plumbing: atomic file replacement and loading a state dict into a model's tensors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "nn/atomic_file.h"
#include "nn/safetensors.h"
#include "nn/state_dict.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::nn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

// ---------------------------------------------------------------- atomic writes

TEST_CASE("atomic write creates and replaces files") {
    std::string dir = testing::temp_dir("atomic");
    std::string path = dir + "/log.json";
    write_file_atomic(path, std::string_view("first"));
    REQUIRE(read_bytes(path) == "first");
    write_file_atomic(path, [](std::ostream& os) { os << "second " << 2; });
    REQUIRE(read_bytes(path) == "second 2");

    // Larger than the stream buffer, mixing small and large writes.
    std::string big(3 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4097) big[i] = static_cast<char>('a' + i % 26);
    write_file_atomic(path, [&](std::ostream& os) {
        os << 'H';
        os.write(big.data(), static_cast<std::streamsize>(big.size()));
        os << "T";
    });
    REQUIRE(read_bytes(path) == "H" + big + "T");
    write_file_atomic(path, std::string_view(""));
    REQUIRE(read_bytes(path).empty());
    REQUIRE(dir_entries(dir) == std::vector<std::string>{"log.json"});

    // A replaced file keeps its permission bits.
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    write_file_atomic(path, std::string_view("private"));
    REQUIRE(read_bytes(path) == "private");
    REQUIRE((fs::status(path).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    fs::remove_all(dir);
}

TEST_CASE("a writer that throws mid-way leaves the old file intact and no temp file") {
    std::string dir = testing::temp_dir("atomic-throw");
    std::string path = dir + "/model.safetensors";
    write_file_atomic(path, std::string_view("old content"));

    REQUIRE_THROWS_WITH(write_file_atomic(path,
                                          [](std::ostream& os) {
                                              os << std::string(2 << 20, 'n');  // some data already on disk
                                              throw std::runtime_error("disk full (simulated)");
                                          }),
                        "disk full (simulated)");  // the writer's own exception, unchanged
    REQUIRE(read_bytes(path) == "old content");
    REQUIRE_FALSE(fs::exists(atomic_temp_path(path)));
    REQUIRE(dir_entries(dir) == std::vector<std::string>{"model.safetensors"});

    // A dcodr::Error from the writer leaves a saved checkpoint untouched too.
    save_safetensors(path, {{"w", Tensor::ones({2})}});
    std::string saved = read_bytes(path);
    REQUIRE_THROWS(write_file_atomic(path, [](std::ostream&) { throw Error("boom"); }));
    REQUIRE(read_bytes(path) == saved);
    REQUIRE(dir_entries(dir) == std::vector<std::string>{"model.safetensors"});
    fs::remove_all(dir);
}

TEST_CASE("atomic write failures name the path and the system's reason") {
    std::string dir = testing::temp_dir("atomic-fail");
    std::string path = dir + "/no/such/dir/file.bin";
    REQUIRE_THROWS_WITH(write_file_atomic(path, std::string_view("x")),
                        Contains(path) && Contains("No such file or directory"));
    // Renaming a file over a directory fails after the data was written: the temp file goes.
    fs::create_directory(dir + "/taken");
    REQUIRE_THROWS_WITH(write_file_atomic(dir + "/taken", std::string_view("x")),
                        Contains(dir + "/taken") && Contains("rename"));
    REQUIRE(dir_entries(dir) == std::vector<std::string>{"taken"});
    REQUIRE(fs::is_directory(dir + "/taken"));
    // A writer that leaves its stream failed is an error too.
    REQUIRE_THROWS_WITH(write_file_atomic(dir + "/f", [](std::ostream& os) { os.setstate(std::ios::failbit); }),
                        Contains(dir + "/f") && Contains("failed state"));
    REQUIRE_FALSE(fs::exists(dir + "/f"));
    fs::remove_all(dir);
}

// ---------------------------------------------------------------- load_state_dict

TEST_CASE("load_state_dict copies by name into the model's storage, converting dtype") {
    // The "model": parameters that are views into one flat buffer, as a module might hold.
    Tensor flat = Tensor::zeros({10});
    Tensor weight = flat.slice(0, 0, 6).view({2, 3});
    Tensor bias = flat.slice(0, 6, 8);
    Tensor steps = Tensor::zeros({}, DType::i64);
    std::vector<NamedTensor> model = {{"fc.weight", weight}, {"fc.bias", bias}, {"bn.num_batches_tracked", steps}};

    std::vector<NamedTensor> loaded = {
        {"bn.num_batches_tracked", Tensor::scalar(12, DType::i64)},
        {"fc.bias", Tensor::from_vector(std::vector<double>{0.5, -0.5}, {2}, DType::f64)},  // f64 -> f32
        {"fc.weight", Tensor::arange(6, DType::f32).view({2, 3})},
    };
    LoadReport r = load_state_dict(model, loaded);
    REQUIRE(r.ok());
    REQUIRE(r.describe().empty());
    REQUIRE(r.loaded == std::vector<std::string>{"fc.weight", "fc.bias", "bn.num_batches_tracked"});
    REQUIRE(flat.to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5, 0.5, -0.5, 0, 0});  // written in place
    REQUIRE(bias.dtype() == DType::f32);
    REQUIRE(steps.item() == 12);
}

TEST_CASE("strict load lists every missing, unexpected and mis-shaped tensor and copies nothing") {
    Tensor w = Tensor::zeros({4, 3}), b = Tensor::zeros({4}), g = Tensor::zeros({4});
    std::vector<NamedTensor> model = {{"fc.weight", w}, {"fc.bias", b}, {"bn.weight", g}, {"bn.bias", Tensor::zeros({4})}};
    std::vector<NamedTensor> loaded = {
        {"fc.weight", Tensor::ones({3, 4})},  // transposed by mistake
        {"fc.bias", Tensor::ones({4})},       // fine, but must not be copied either
        {"head.weight", Tensor::ones({2})},
        {"head.bias", Tensor::ones({2})},
    };
    REQUIRE_THROWS_WITH(load_state_dict(model, loaded, true, "ckpt.safetensors"),
                        Contains("'ckpt.safetensors': load_state_dict: 2 missing, 2 unexpected, 1 mis-shaped") &&
                            Contains("missing (2): bn.weight, bn.bias") &&
                            Contains("unexpected (2): head.weight, head.bias") &&
                            Contains("fc.weight (expected [4, 3], found [3, 4])"));
    REQUIRE(b.to_vector() == std::vector<double>{0, 0, 0, 0});  // strict failure wrote nothing

    LoadReport r = load_state_dict(model, loaded, /*strict=*/false);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.missing == std::vector<std::string>{"bn.weight", "bn.bias"});
    REQUIRE(r.unexpected == std::vector<std::string>{"head.weight", "head.bias"});
    REQUIRE(r.mismatched.size() == 1);
    REQUIRE(r.mismatched[0].name == "fc.weight");
    REQUIRE(r.mismatched[0].expected == Shape{4, 3});
    REQUIRE(r.mismatched[0].found == Shape{3, 4});
    REQUIRE(r.loaded == std::vector<std::string>{"fc.bias"});
    REQUIRE(b.to_vector() == std::vector<double>{1, 1, 1, 1});       // matching tensor copied
    REQUIRE(w.to_vector() == std::vector<double>(12, 0.0));          // mis-shaped one left alone
    REQUIRE_THAT(r.describe(), Contains("mis-shaped (1): fc.weight"));
}

TEST_CASE("load_state_dict rejects duplicate names") {
    std::vector<NamedTensor> model = {{"a", Tensor::zeros({1})}};
    REQUIRE_THROWS_WITH(load_state_dict(model, {{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}}),
                        Contains("duplicate name 'a' in the loaded tensors"));
    REQUIRE_THROWS_WITH(load_state_dict({{"a", Tensor::zeros({1})}, {"a", Tensor::zeros({1})}}, {}),
                        Contains("duplicate name 'a' in the model"));
}

TEST_CASE("a model saved to safetensors loads back into a fresh model") {
    std::string dir = testing::temp_dir("ckpt");
    std::string path = dir + "/ckpt.safetensors";
    std::vector<NamedTensor> trained = {
        {"conv.weight", Tensor::uniform({4, 3, 3, 3}, -1, 1, 1)},
        {"bn.running_var", Tensor::uniform({4}, 0, 2, 2)},
        {"bn.num_batches_tracked", Tensor::scalar(100, DType::i64)},
    };
    save_safetensors(path, trained, {{"epoch", "7"}});

    std::vector<NamedTensor> fresh;
    for (const auto& [name, t] : trained) fresh.push_back({name, Tensor::zeros(t.shape(), t.dtype())});
    auto file = load_safetensors(path);
    REQUIRE(file.metadata.at("epoch") == "7");
    REQUIRE(load_state_dict(fresh, file.tensors, true, path).ok());
    for (std::size_t i = 0; i < trained.size(); ++i) REQUIRE(fresh[i].tensor.to_vector() == trained[i].tensor.to_vector());
    fs::remove_all(dir);
}
