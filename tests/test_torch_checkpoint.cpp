// Reading PyTorch checkpoints (nn/torch_checkpoint.*, nn/pickle.*, data/inflate.*) against
// files written by real torch.save (tests/make_torch_fixtures.py), mapping their names onto
// the DCoDR encoder (nn/name_mapping.*, nn/pretrained.*), and refusing hostile files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "data/inflate.h"
#include "nn/dcodr_encoder.h"
#include "nn/init.h"
#include "nn/json.h"
#include "nn/pretrained.h"
#include "nn/safetensors.h"
#include "tests/fixture_resnet.h"
#include "tests/test_util.h"
#include "tests/train_fixtures.h"

using namespace dcodr;
using namespace dcodr::nn;
using Catch::Contains;

namespace {

std::string torch_fixture(const std::string& name) { return testing::fixture_path("torch/" + name); }

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    REQUIRE(f.good());
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Exact equality, element by element (values compared as doubles; every dtype fits).
void require_equal(const Tensor& a, const Tensor& b, const std::string& name) {
    INFO(name);
    REQUIRE(a.shape() == b.shape());
    auto va = a.to_vector(), vb = b.to_vector();
    for (std::size_t i = 0; i < va.size(); ++i) {
        INFO("element " << i);
        REQUIRE(va[i] == vb[i]);
    }
}

EncoderConfig tiny_encoder() {  // the fixtures' ResNet-18 at width 1/32
    EncoderConfig c;
    c.depth = 18;
    c.width = 0.03125;
    c.hidden = 16;
    c.code_dim = 8;
    return c;
}

Tensor codes_after_init(const std::string& file, const std::string& key = "") {
    manual_seed(5);  // same random start for the parts the file does not cover
    DcodrEncoder enc(tiny_encoder());
    InitOptions o;
    o.path = file;
    o.key = key;
    load_pretrained(enc.state_dict(), o);
    enc.eval();
    Tensor x = Tensor::uniform({3, 3, 32, 32}, 0, 1, 11);
    return enc.encode(x);
}

}  // namespace

TEST_CASE("inflate decodes stored, fixed-Huffman and dynamic-Huffman blocks, and refuses bad streams", "[torch]") {
    // Raw deflate streams from Python's zlib (levels 0 and 9, Z_FIXED and the default
    // strategy) of "dcodr 0 dcodr 1 ... " (i % 37 for i < 300).
    std::string text;
    for (int i = 0; i < 300; ++i) text += "dcodr " + std::to_string(i % 37) + " ";
    auto unhex = [](const std::string& h) {
        std::string b;
        for (std::size_t i = 0; i < h.size(); i += 2) b += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
        return b;
    };
    const std::string stored = unhex(
        "01c80037ff64636f647220302064636f647220312064636f647220322064636f647220332064636f647220342064636f6472203520"
        "64636f647220362064636f647220372064636f647220382064636f647220392064636f64722031302064636f64722031312064636f"
        "64722031322064636f64722031332064636f64722031342064636f64722031352064636f64722031362064636f6472203137206463"
        "6f64722031382064636f64722031392064636f64722032302064636f64722032312064636f64722032322064636f");
    const std::string fixed = unhex(
        "4b49ce4f295230504801d38650da084a1b436913286d0aa5cda0b43994b680d2963073e006c24c348419690833d31066a821cc5443"
        "98b18630730d61061bc24c3682996c04772bcc642398c94630938d60261bc14c3682996c0433d90866b231cc646398c9c6f0608099"
        "6c0c33d91866b231cce4d1201c0dc2d1201c0dc2d1201c0dc2d1201c0dc2611e8400");
    const std::string dynamic = unhex(
        "edd0c10d83401043d1562821f60049ea61ef48f47f4042fe5b049a936f4fd61fc739aee5b38c679575b6b26b76cbeed96ff697fde3"
        "4c105190c214a850052b5c010bd9c89e5f918d6c64231bd9c8463672211772cd0cc8855cc885dc093b6127ec849db01376c24ef8f2"
        "8437");
    auto as_string = [](const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); };
    CHECK(as_string(data::inflate_raw(stored, 200, "stored")) == text.substr(0, 200));
    CHECK(as_string(data::inflate_raw(fixed, text.size(), "fixed")) == text);
    CHECK(as_string(data::inflate_raw(dynamic, text.size(), "dynamic")) == text);
    REQUIRE_THROWS_WITH(data::inflate_raw(dynamic, text.size() - 1, "x"), Contains("grows past the 2615 bytes"));
    REQUIRE_THROWS_WITH(data::inflate_raw(dynamic, text.size() + 1, "x"), Contains("holds 2616 bytes"));
    REQUIRE_THROWS_WITH(data::inflate_raw(dynamic.substr(0, 50), text.size(), "x"), Contains("ends early"));
    REQUIRE_THROWS_WITH(data::inflate_raw(std::string("\x07", 1), 1, "x"), Contains("invalid block type"));
}

TEST_CASE("torch.save zip, legacy and fp16 files load to exactly the reference weights", "[torch]") {
    SafetensorsContent ref = load_safetensors(torch_fixture("resnet18_w32.safetensors"));
    REQUIRE(ref.tensors.size() == 122);  // 20 convs/bns x ... : the whole tiny ResNet-18 state dict
    for (const char* file : {"resnet18_w32_zip.pth", "resnet18_w32_legacy.pth", "resnet18_w32_fp16.pth"}) {
        INFO(file);
        TorchCheckpoint c = load_torch_checkpoint(torch_fixture(file));
        CHECK(c.layout == (std::string(file).find("legacy") != std::string::npos ? "legacy" : "zip"));
        REQUIRE(c.tensors.size() == ref.tensors.size());
        for (std::size_t i = 0; i < c.tensors.size(); ++i) {
            REQUIRE(c.tensors[i].name == ref.tensors[i].name);  // state-dict order kept
            REQUIRE(c.tensors[i].tensor.dtype() == ref.tensors[i].tensor.dtype());
            require_equal(c.tensors[i].tensor, ref.tensors[i].tensor, c.tensors[i].name);
        }
        const bool half = std::string(file).find("fp16") != std::string::npos;
        CHECK(c.tensors[0].stored_dtype == (half ? "F16" : "F32"));
        CHECK(c.tensors[0].stored_bytes == 2 * 3 * 7 * 7 * (half ? 2 : 4));
    }
}

TEST_CASE("nested dicts, lists, views of one storage and every dtype load as PyTorch saved them", "[torch]") {
    json::Value expected = testing::load_json_file(torch_fixture("misc_expected.json"));
    for (const char* file : {"misc_zip.pth", "misc_legacy.pth", "misc_deflated.pth"}) {
        INFO(file);
        TorchLoadOptions all;
        all.auto_key = false;
        TorchCheckpoint c = load_torch_checkpoint(torch_fixture(file), all);
        std::map<std::string, const CheckpointTensor*> by_name;
        for (const auto& t : c.tensors) by_name[t.name] = &t;
        REQUIRE(by_name.size() == expected.as_object().size());
        for (const auto& [name, want] : expected.as_object()) {
            std::string full = name.rfind("nested", 0) == 0 ? name : "state_dict." + name;
            INFO(full);
            REQUIRE(by_name.count(full));
            const Tensor& t = by_name[full]->tensor;
            Shape shape;
            for (const auto& d : want.at("shape").as_array()) shape.push_back(d.as_int());
            REQUIRE(t.shape() == shape);
            auto v = t.to_vector();
            const auto& w = want.at("values").as_array();
            REQUIRE(v.size() == w.size());
            for (std::size_t i = 0; i < v.size(); ++i) REQUIRE(v[i] == w[i].as_double());
        }
        CHECK(by_name["state_dict.f64"]->tensor.dtype() == DType::f64);
        CHECK(by_name["state_dict.i64"]->tensor.dtype() == DType::i64);
        CHECK(by_name["state_dict.i64"]->tensor.to_vector()[1] == 1099511627776.0);  // 2^40, exact
        CHECK(by_name["state_dict.bf16"]->stored_dtype == "BF16");
        CHECK(by_name["state_dict.i32"]->stored_dtype == "I32");
        std::vector<std::string> others = c.others;
        for (const char* o : {"epoch = 3", "lr = 0.1", "name = 'misc'", "flags.0 = True", "flags.2 = None",
                              "pair.1 = 'x'", "nested.list.1 = 4"})
            CHECK(std::find(others.begin(), others.end(), o) != others.end());
    }
}

TEST_CASE("a key path picks the state dict; a missing key names what is there", "[torch]") {
    const std::string file = torch_fixture("misc_zip.pth");
    TorchCheckpoint automatic = load_torch_checkpoint(file);
    CHECK(automatic.key == "state_dict");
    CHECK(automatic.tensors.size() == 12);
    TorchLoadOptions inner;
    inner.key = "nested/inner";
    TorchCheckpoint c = load_torch_checkpoint(file, inner);
    REQUIRE(c.tensors.size() == 1);
    CHECK(c.tensors[0].name == "w");
    inner.key = "nested/outer";
    REQUIRE_THROWS_WITH(load_torch_checkpoint(file, inner),
                        Contains("misc_zip.pth") && Contains("'outer' not found under 'nested'") && Contains("'inner'"));
}

TEST_CASE("names map onto the encoder by rules", "[torch]") {
    NameRules r;
    CHECK(map_name("module.encoder_q.layer1.0.conv1.weight", r).name == "resnet.layer1.0.conv1.weight");
    CHECK(map_name("module.encoder_q.fc.0.weight", r).name.empty());
    CHECK(map_name("module.encoder_k.conv1.weight", r).reason == "MoCo's momentum encoder / queue");
    CHECK(map_name("backbone.bn1.running_var", r).name == "resnet.bn1.running_var");
    CHECK(map_name("fc.weight", r).reason == "classifier / projection head (fc)");
    CHECK(map_name("content_encoder.module.resnet50.fc.0.weight", r).name == "resnet.fc.weight");
    CHECK(map_name("content_encoder.module.fc_layers.0.bias", r).name == "proj.bias");
    CHECK(map_name("siamese.module.4.weight", r).name == "head.4.weight");
    CHECK(map_name("model.proj.weight", r).name == "proj.weight");  // dcodr's own checkpoint
    CHECK(map_name("optim.adam.0.m", r).name.empty());
    CHECK(map_name("resnet.fc.weight", r).name == "resnet.fc.weight");
    r.prefix = "student.";
    CHECK(map_name("teacher.conv1.weight", r).name.empty());
    CHECK(map_name("student.conv1.weight", r).name == "resnet.conv1.weight");
    r.prefix.clear();
    r.map = parse_name_map("net.stem.=conv1.,head.=proj.");
    CHECK(map_name("net.stem.weight", r).name == "resnet.conv1.weight");
    r.map.clear();
    r.target = NameTarget::torchvision;
    CHECK(map_name("module.encoder_q.fc.2.bias", r).name == "fc.2.bias");
    CHECK(map_name("resnet.layer4.1.bn2.bias", r).name == "layer4.1.bn2.bias");
    REQUIRE_THROWS_WITH(parse_name_map("nonsense"), Contains("FROM=TO"));
}

TEST_CASE("a MoCo-style checkpoint initialises the encoder and reports what it did not use", "[torch]") {
    manual_seed(1);
    DcodrEncoder enc(tiny_encoder());
    InitOptions o;
    o.path = torch_fixture("moco_w32_legacy.pth");
    InitReport r = load_pretrained(enc.state_dict(), o);
    CHECK(r.format == "pytorch legacy");
    CHECK(r.key == "state_dict");
    CHECK(r.loaded.size() == 120);  // the backbone: everything but fc
    CHECK(r.missing == std::vector<std::string>{"resnet.fc.weight", "resnet.fc.bias", "proj.weight", "proj.bias"});
    CHECK(r.unexpected.empty());
    CHECK(r.not_used.size() == 4 + 3);  // fc.0/fc.2, encoder_k, queue, queue_ptr
    CHECK_THAT(r.describe(), Contains("missing (4)") && Contains("classifier / projection head (fc)"));
    SafetensorsContent ref = load_safetensors(torch_fixture("resnet18_w32.safetensors"));
    auto state = enc.state_dict();
    for (const auto& t : ref.tensors) {
        if (t.name.rfind("fc.", 0) == 0) continue;
        auto it = std::find_if(state.begin(), state.end(), [&](auto& s) { return s.name == "resnet." + t.name; });
        REQUIRE(it != state.end());
        require_equal(it->tensor, t.tensor, it->name);
    }
    o.strict = true;
    REQUIRE_THROWS_WITH(load_pretrained(enc.state_dict(), o),
                        Contains("--init-strict") && Contains("lacks 4") && Contains("proj.weight"));
}

TEST_CASE("the .pth and .safetensors paths give the same codes", "[torch]") {
    Tensor from_safetensors = codes_after_init(torch_fixture("resnet18_w32.safetensors"));
    for (const char* file : {"resnet18_w32_zip.pth", "resnet18_w32_legacy.pth", "resnet18_w32_fp16.pth"}) {
        INFO(file);
        require_equal(codes_after_init(torch_fixture(file)), from_safetensors, "codes");
    }
    manual_seed(5);
    DcodrEncoder random_start(tiny_encoder());
    random_start.eval();
    Tensor random_codes = random_start.encode(Tensor::uniform({3, 3, 32, 32}, 0, 1, 11));
    auto a = random_codes.to_vector(), b = from_safetensors.to_vector();
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
    CHECK(diff > 1e-3);  // the init did change the encoder
}

TEST_CASE("mapped into the encoder, the weights compute PyTorch's features", "[torch]") {
    // Catches a mapping that loads every tensor but into the wrong place (bn1 <-> bn2, ...).
    json::Value ref = testing::load_json_file(torch_fixture("resnet18_w32_features.json"));
    EncoderConfig c = tiny_encoder();
    for (const char* file : {"resnet18_w32_zip.pth", "moco_w32_legacy.pth"}) {
        INFO(file);
        DcodrEncoder enc(c);
        InitOptions o;
        o.path = torch_fixture(file);
        load_pretrained(enc.state_dict(), o);
        enc.eval();
        std::vector<double> x(2 * 3 * 32 * 32);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.5 + 0.5 * std::sin(0.05 * static_cast<double>(i));
        Tensor f = enc.resnet->features(Tensor::from_vector(x, {2, 3, 32, 32}, DType::f32));
        std::vector<double> want;
        for (const auto& v : ref.at("features").as_array()) want.push_back(v.as_double());
        REQUIRE(f.shape() == Shape{2, 16});
        // float32 against PyTorch's float64 through 18 layers
        REQUIRE(testing::compare(f, Tensor::from_vector(want, {2, 16}, DType::f32), 1e-3, 1e-4).empty());
    }
}

TEST_CASE("the trainer applies --init once before step 0, records it, and not again on resume", "[torch]") {
    data::Dataset ds = testing::tiny_shapes(96);
    const std::string dir = "torch_init_trainer";
    std::filesystem::remove_all(dir);
    method::TrainConfig c = testing::tiny_config(method::ContrastiveMode::domain_wise, 1);
    c.encoder = tiny_encoder();
    c.init.path = torch_fixture("resnet18_w32_zip.pth");
    c.out_dir = dir;
    Tensor conv1_file = load_safetensors(torch_fixture("resnet18_w32.safetensors")).find("conv1.weight")->clone();
    {
        method::Trainer t(c, ds);
        REQUIRE(t.encoder().resnet->conv1->weight.to_vector() != conv1_file.to_vector());
        nn::InitReport r = t.initialize();
        CHECK(r.loaded.size() == 120);
        require_equal(t.encoder().resnet->conv1->weight, conv1_file, "conv1 after initialize()");
        REQUIRE_THROWS_WITH(t.initialize(), Contains("only once"));
        t.run();  // does not initialise again
    }
    {
        method::Trainer t(c, ds);
        t.run();  // run() initialises when nobody did: the same start, the same step
        auto meta = load_safetensors(dir + "/checkpoint.safetensors").metadata;
        REQUIRE(meta.count("dcodr.init"));
        CHECK_THAT(meta["dcodr.init"], Contains("\"loaded\":120"));
        CHECK(method::TrainConfig::from_json(json::parse(meta["dcodr.config"])).init.path == c.init.path);
    }
    method::TrainConfig more = c;
    more.max_steps = 2;
    method::Trainer resumed(more, ds);
    resumed.load_checkpoint(dir + "/checkpoint.safetensors");
    Tensor after_one_step = resumed.encoder().resnet->conv1->weight.clone();
    REQUIRE_THROWS_WITH(resumed.initialize(), Contains("only once"));
    resumed.run();  // from the checkpoint's weights, not the file's
    CHECK(after_one_step.to_vector() != conv1_file.to_vector());
    std::filesystem::remove_all(dir);
}

TEST_CASE("shape and dtype mismatches are errors naming the tensor", "[torch]") {
    EncoderConfig wide = tiny_encoder();
    wide.width = 0.0625;
    DcodrEncoder enc(wide);
    InitOptions o;
    o.path = torch_fixture("resnet18_w32_zip.pth");
    REQUIRE_THROWS_WITH(load_pretrained(enc.state_dict(), o),
                        Contains("'conv1.weight' (for 'resnet.conv1.weight') has shape [2, 3, 7, 7]") &&
                            Contains("[4, 3, 7, 7]"));
    std::vector<NamedTensor> targets{{"i64", Tensor::zeros({2, 2})}};
    o.path = torch_fixture("misc_zip.pth");
    REQUIRE_THROWS_WITH(load_pretrained(targets, o), Contains("'i64'") && Contains("I64") && Contains("float32"));
    targets = {{"nothing.here", Tensor::zeros({2})}};
    REQUIRE_THROWS_WITH(load_pretrained(targets, o), Contains("none of its 12 tensors matches"));
}

TEST_CASE("hostile checkpoints are refused: globals that run code, a zip bomb, truncation", "[torch]") {
    REQUIRE_THROWS_WITH(load_torch_checkpoint(torch_fixture("evil_system.pth")),
                        Contains("refused") && Contains("'posix.system'"));
    REQUIRE_THROWS_WITH(load_torch_checkpoint(torch_fixture("evil_eval_legacy.pth")),
                        Contains("refused") && Contains("eval'"));
    REQUIRE_THROWS_WITH(load_torch_checkpoint(torch_fixture("zip_bomb.pth")), Contains("zip bomb"));
    for (const char* file : {"resnet18_w32_zip.pth", "resnet18_w32_legacy.pth", "misc_deflated.pth"}) {
        std::string bytes = read_bytes(torch_fixture(file));
        for (std::size_t keep : {std::size_t{0}, std::size_t{3}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
            INFO(file << " truncated to " << keep);
            REQUIRE_THROWS_AS(parse_torch_checkpoint(std::string_view(bytes).substr(0, keep), {}, file), Error);
        }
    }
    REQUIRE_THROWS_WITH(load_torch_checkpoint(testing::fixture_path("python-layout.safetensors")),
                        Contains("not a PyTorch checkpoint"));
}

TEST_CASE("fuzz: mutated checkpoints throw dcodr::Error or load, never crash", "[torch][fuzz]") {
    std::mt19937_64 rng(2024);
    int loaded = 0, refused = 0;
    for (const char* file : {"misc_legacy.pth", "misc_zip.pth", "misc_deflated.pth", "resnet18_w32_legacy.pth",
                             "evil_eval_legacy.pth"}) {
        const std::string original = read_bytes(torch_fixture(file));
        for (int iter = 0; iter < 800; ++iter) {
            std::string b = original;
            auto pos = [&] { return static_cast<std::size_t>(rng() % b.size()); };
            switch (rng() % 5) {
                case 0: b[pos()] ^= static_cast<char>(1u << (rng() % 8)); break;      // flip a bit
                case 1: b[pos()] = static_cast<char>(rng()); break;                  // random byte
                case 2: b.resize(pos()); break;                                      // truncate
                case 3: b.insert(pos(), std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
                default:                                                             // a big value
                    if (b.size() > 8) {
                        std::size_t p = pos() % (b.size() - 4);
                        const char big[4] = {'\xff', '\xff', '\xff', '\x7f'};
                        b.replace(p, 4, big, 4);
                    }
            }
            try {
                TorchCheckpoint c = parse_torch_checkpoint(b, {}, file);
                ++loaded;
            } catch (const Error&) {
                ++refused;
            }  // anything else propagates and fails the test
        }
    }
    INFO("loaded " << loaded << ", refused " << refused);
    CHECK(refused > 1000);  // mutations are detected, not silently read
    CHECK(loaded + refused == 4000);
}
