// safetensors reading/writing (byte compatibility with Python's package, validation of broken
// files) and the JSON value it is built on.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "nn/json.h"
#include "nn/safetensors.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::nn;
using Catch::Contains;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
    return s;
}

// A safetensors file from a header text and raw data, padded like the Python writer.
std::string make_file(std::string header, const std::string& data, bool pad = true) {
    if (pad) header.append((8 - header.size() % 8) % 8, ' ');
    return le64(header.size()) + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
    std::string s;
    for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return s;
}

std::string from_byte_list(std::initializer_list<int> bytes) {
    std::string s;
    for (int b : bytes) s += static_cast<char>(b);
    return s;
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST_CASE("safetensors round trip keeps dtype, shape, values, order and metadata") {
    std::string dir = testing::temp_dir("safetensors");
    std::string path = dir + "/model.safetensors";

    Tensor f32 = Tensor::uniform({3, 4}, -1, 1, 7);
    Tensor f64 = Tensor::uniform({2, 2, 2}, -5, 5, 8, 0, DType::f64);
    Tensor i64 = Tensor::from_vector(std::vector<std::int64_t>{-1, 0, std::numeric_limits<std::int64_t>::max(),
                                                               std::numeric_limits<std::int64_t>::min()},
                                     {4});
    Tensor scalar = Tensor::scalar(3.5, DType::f64);              // 0-d
    Tensor count = Tensor::scalar(7, DType::i64);                 // 0-d int (num_batches_tracked)
    Tensor empty = Tensor::empty({0, 3});                         // no data at all
    Tensor transposed = Tensor::arange(6).view({2, 3}).transpose(0, 1);  // not contiguous
    std::vector<NamedTensor> tensors = {{"z.f32", f32},   {"a.f64", f64},   {"m.i64", i64},
                                        {"scalar", scalar}, {"count", count}, {"empty", empty},
                                        {"t", transposed}};
    SafetensorsMetadata meta = {{"format", "pt"}, {"quote \"and\" \\slash\n", "caf\xc3\xa9 \xf0\x9f\x98\x80"}};
    save_safetensors(path, tensors, meta);

    SafetensorsContent back = load_safetensors(path);
    REQUIRE(back.metadata == meta);
    REQUIRE(back.tensors.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        INFO(tensors[i].name);
        const Tensor& a = back.tensors[i].tensor;
        REQUIRE(back.tensors[i].name == tensors[i].name);  // our writer keeps the given order
        REQUIRE(a.dtype() == tensors[i].tensor.dtype());
        REQUIRE(a.shape() == tensors[i].tensor.shape());
        REQUIRE(a.device().is_cpu());
        REQUIRE(a.to_vector() == tensors[i].tensor.to_vector());  // bit-exact
    }
    REQUIRE(back.find("m.i64")->to_int_vector() == i64.to_int_vector());  // int64 extremes exact
    REQUIRE(back.find("t")->to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    REQUIRE(back.find("nope") == nullptr);

    // The in-memory forms agree with the file.
    REQUIRE(safetensors_bytes(tensors, meta) == read_bytes(path));
    REQUIRE(parse_safetensors(read_bytes(path)).tensors.size() == tensors.size());
    std::filesystem::remove_all(dir);
}

TEST_CASE("safetensors with no tensors and no metadata") {
    // Byte for byte what Python's safetensors writes for an empty dict: "{}" + 6 spaces.
    std::string bytes = safetensors_bytes({});
    REQUIRE(bytes == from_byte_list({8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}));
    auto back = parse_safetensors(bytes);
    REQUIRE(back.tensors.empty());
    REQUIRE(back.metadata.empty());
}

// ---------------------------------------------------------------- byte compatibility

TEST_CASE("our writer reproduces the Python package's bytes") {
    // Expected outputs copied from the safetensors package's own serialization tests.
    Tensor t = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {1, 2, 3});
    std::string expected =
        from_byte_list({64, 0, 0, 0, 0, 0, 0, 0}) +
        R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})" +
        raw<float>({0, 1, 2, 3, 4, 5});
    REQUIRE(safetensors_bytes({{"attn.0", t}}) == expected);

    // A one-byte shorter name forces 7 bytes of space padding before the data.
    std::string padded = from_byte_list({72, 0, 0, 0, 0, 0, 0, 0}) +
                         R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" +
                         std::string(7, ' ') + raw<float>({0, 1, 2, 3, 4, 5});
    REQUIRE(safetensors_bytes({{"attn0", t.view({1, 1, 2, 3})}}) == padded);

    // Metadata only: "__metadata__" first, compact, padded.
    std::string meta_only = from_byte_list({40, 0, 0, 0, 0, 0, 0, 0}) +
                            R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ');
    REQUIRE(safetensors_bytes({}, {{"framework", "pt"}}) == meta_only);
}

TEST_CASE("writer output follows the spec: aligned header, contiguous offsets, little-endian data") {
    std::vector<NamedTensor> tensors = {
        {"b", Tensor::from_vector(std::vector<std::int64_t>{1, -2}, {2})},
        {"a", Tensor::from_vector(std::vector<double>{0.5, -1.25, 3}, {3}, DType::f64)},
        {"c", Tensor::from_vector(std::vector<float>{1.5f}, {1})},
        {"e", Tensor::empty({2, 0})},
        {"d", Tensor::scalar(2.0)},
    };
    std::string bytes = safetensors_bytes(tensors, {{"k", "v"}});

    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    REQUIRE(n % 8 == 0);
    REQUIRE(8 + n <= bytes.size());
    std::string header = bytes.substr(8, n);
    REQUIRE(header.front() == '{');
    auto close = header.find_last_of('}');
    REQUIRE(header.substr(close + 1).find_first_not_of(' ') == std::string::npos);  // only space padding
    REQUIRE(header.find(": ") == std::string::npos);                              // compact, like serde_json

    json::Value h = json::parse(header);
    REQUIRE(h.as_object().front().first == "__metadata__");
    REQUIRE(h.at("__metadata__").at("k").as_string() == "v");
    std::uint64_t expected_begin = 0;
    std::vector<std::string> names;
    for (const auto& [name, entry] : h.as_object()) {
        if (name == "__metadata__") continue;
        names.push_back(name);
        auto b = static_cast<std::uint64_t>(entry.at("data_offsets").at(0).as_int());
        auto e = static_cast<std::uint64_t>(entry.at("data_offsets").at(1).as_int());
        REQUIRE(b == expected_begin);  // packed in header order, no gaps
        expected_begin = e;
    }
    REQUIRE(names == std::vector<std::string>{"b", "a", "c", "e", "d"});
    REQUIRE(8 + n + expected_begin == bytes.size());  // nothing after the last tensor
    REQUIRE(h.at("b").at("dtype").as_string() == "I64");
    REQUIRE(h.at("a").at("dtype").as_string() == "F64");
    REQUIRE(h.at("d").at("shape").size() == 0);
    REQUIRE(h.at("e").at("shape") == json::parse("[2,0]"));

    std::string data = bytes.substr(8 + n);
    REQUIRE(data == raw<std::int64_t>({1, -2}) + raw<double>({0.5, -1.25, 3}) + raw<float>({1.5f, 2.0f}));
}

TEST_CASE("a file in the Python package's layout, written byte by byte, reads correctly") {
    // What `safetensors.torch.save_file({"w": fp32 2x2, "step": int64 0-d}, ..., metadata={"format": "pt"})`
    // writes: tensors sorted by descending dtype (I64 before F32), compact JSON, space padding.
    std::string header =
        R"({"__metadata__":{"format":"pt"},"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
        R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})";
    std::string file = make_file(header, raw<std::int64_t>({1000}) + raw<float>({1.f, -2.f, 0.25f, 1e-3f}));
    REQUIRE((file.size() - 8) % 8 == 0);
    std::string dir = testing::temp_dir("safetensors-py");
    std::string path = dir + "/py.safetensors";
    write_bytes(path, file);

    auto c = load_safetensors(path);
    REQUIRE(c.metadata == SafetensorsMetadata{{"format", "pt"}});
    REQUIRE(c.tensors.size() == 2);
    REQUIRE(c.tensors[0].name == "step");  // header order
    REQUIRE(c.tensors[0].tensor.dim() == 0);
    REQUIRE(c.tensors[0].tensor.dtype() == DType::i64);
    REQUIRE(c.tensors[0].tensor.item() == 1000);
    REQUIRE(c.tensors[1].name == "w");
    REQUIRE(c.tensors[1].tensor.shape() == Shape{2, 2});
    REQUIRE(c.tensors[1].tensor.to_float_vector() == std::vector<float>{1.f, -2.f, 0.25f, 1e-3f});
    std::filesystem::remove_all(dir);
}

TEST_CASE("committed fixture in the Python layout: PyTorch dtypes are converted") {
    // tests/fixtures/python-layout.safetensors comes from tests/make_safetensors_fixture.py.
    auto c = load_safetensors(testing::fixture_path("python-layout.safetensors"));
    REQUIRE(c.metadata.at("format") == "pt");
    std::vector<std::string> names;
    for (const auto& t : c.tensors) names.push_back(t.name);
    REQUIRE(names == std::vector<std::string>{"steps", "scale", "empty", "index", "bias", "weight", "pixels", "mask"});

    const Tensor& weight = *c.find("weight");  // F16 -> f32
    REQUIRE(weight.dtype() == DType::f32);
    REQUIRE(weight.shape() == Shape{2, 2});
    REQUIRE(weight.to_vector() == std::vector<double>{1.0, -2.0, 0.5, 65504.0});
    REQUIRE(c.find("bias")->to_vector() == std::vector<double>{1.0, -3.0});  // BF16 -> f32
    REQUIRE(c.find("bias")->dtype() == DType::f32);
    REQUIRE(c.find("mask")->dtype() == DType::i64);  // BOOL -> i64
    REQUIRE(c.find("mask")->to_int_vector() == std::vector<std::int64_t>{1, 0, 1});
    REQUIRE(c.find("index")->to_int_vector() == std::vector<std::int64_t>{-7, 123456});  // I32
    REQUIRE(c.find("pixels")->to_int_vector() == std::vector<std::int64_t>{0, 255});     // U8 unsigned
    REQUIRE(c.find("steps")->dim() == 0);
    REQUIRE(c.find("steps")->item() == 42);
    REQUIRE(c.find("scale")->dtype() == DType::f64);
    REQUIRE(c.find("scale")->item() == 0.25);
    REQUIRE(c.find("empty")->shape() == Shape{0, 4});
}

TEST_CASE("narrow and unsigned dtypes convert exactly") {
    auto one = [](const char* dtype, const char* shape, const std::string& data) {
        std::string header = fmt::format(R"({{"x":{{"dtype":"{}","shape":{},"data_offsets":[0,{}]}}}})", dtype,
                                         shape, data.size());
        return parse_safetensors(make_file(header, data)).tensors.at(0).tensor;
    };
    // F16: normal, negative, subnormal (2^-24), infinity
    Tensor h = one("F16", "[4]", raw<std::uint16_t>({0x3C00, 0xC000, 0x0001, 0x7C00}));
    auto hv = h.to_vector();
    REQUIRE(hv[0] == 1.0);
    REQUIRE(hv[1] == -2.0);
    REQUIRE(hv[2] == std::ldexp(1.0, -24));
    REQUIRE(std::isinf(hv[3]));
    REQUIRE(std::isnan(one("F16", "[1]", raw<std::uint16_t>({0x7E00})).item()));
    REQUIRE(one("BF16", "[2]", raw<std::uint16_t>({0x3F80, 0xC040})).to_vector() == std::vector<double>{1, -3});
    REQUIRE(one("F8_E4M3", "[3]", from_byte_list({0x38, 0x7E, 0x81})).to_vector() ==
            std::vector<double>{1.0, 448.0, -std::ldexp(1.0, -9)});
    REQUIRE(one("F8_E5M2", "[1]", from_byte_list({0x3C})).item() == 1.0);
    REQUIRE(one("I8", "[2]", from_byte_list({0xFF, 0x7F})).to_int_vector() == std::vector<std::int64_t>{-1, 127});
    REQUIRE(one("I16", "[1]", raw<std::int16_t>({-300})).item() == -300);
    REQUIRE(one("U16", "[1]", raw<std::uint16_t>({65535})).item() == 65535);
    REQUIRE(one("U32", "[1]", raw<std::uint32_t>({4000000000u})).to_int_vector()[0] == 4000000000LL);
    REQUIRE(one("U64", "[1]", raw<std::uint64_t>({1ull << 40})).to_int_vector()[0] == (1LL << 40));
    REQUIRE_THROWS_WITH(one("U64", "[1]", raw<std::uint64_t>({~0ull})), Contains("does not fit in int64"));
    REQUIRE(one("BOOL", "[2]", from_byte_list({0, 2})).to_int_vector() == std::vector<std::int64_t>{0, 1});
}

// ---------------------------------------------------------------- malformed files

TEST_CASE("malformed files give errors naming the file and the problem") {
    std::string dir = testing::temp_dir("safetensors-bad");
    std::string path = dir + "/bad.safetensors";
    auto check = [&](const std::string& bytes, const std::string& problem) {
        write_bytes(path, bytes);
        INFO(problem);
        REQUIRE_THROWS_WITH(load_safetensors(path), Contains(path) && Contains(problem));
    };
    std::string ok_header = R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
    std::string ok_data = raw<float>({1, 2, 3, 4, 5, 6});
    REQUIRE_NOTHROW(parse_safetensors(make_file(ok_header, ok_data)));

    check("", "too short for the 8-byte header length");
    check("abc", "too short for the 8-byte header length");
    // Truncated header: the length says more than the file holds.
    check(make_file(ok_header, ok_data).substr(0, 40), "header length 64 is larger than");
    check(le64(~0ull) + "{}", "is larger than");
    // Truncated data: the last tensor runs past the end.
    check(make_file(ok_header, ok_data.substr(0, 20)), "tensor 'w': data_offsets [0, 24] run past the end");
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})", ok_data), "not valid JSON");
    check(make_file("[1,2]", ""), "must be a JSON object");
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                    R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
                    ok_data),
          "duplicate key \"w\"");
    // Overlapping: v starts inside w.
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                    R"("v":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                    ok_data),
          "tensor 'v': data_offsets [16, 24] overlap tensor 'w'");
    // A gap before the first tensor, and bytes after the last one.
    check(make_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", raw<float>({1, 2})),
          "tensor 'w': data_offsets [4, 8] leave a gap");
    check(make_file(ok_header, ok_data + "junk"), "tensors cover only 24");
    check(make_file(R"({"w":{"dtype":"F7","shape":[2,3],"data_offsets":[0,24]}})", ok_data),
          "tensor 'w': unknown dtype 'F7'");
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}})", ok_data),
          "tensor 'w': shape [2, 2] of dtype F32 needs 16 bytes but data_offsets [0, 24] span 24 bytes");
    check(make_file(R"({"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}})", ok_data),
          "tensor 'w': negative dimension");
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[24,0]}})", ok_data),
          "tensor 'w': data_offsets [24, 0] are not a valid range");
    check(make_file(R"({"w":{"dtype":"F32","shape":[2,3]}})", ok_data), "tensor 'w': entry has no \"data_offsets\"");
    check(make_file(R"({"w":{"dtype":"F32","shape":"2x3","data_offsets":[0,24]}})", ok_data),
          "tensor 'w': json: expected array, got string");
    check(make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,24]}})", ok_data),
          "tensor 'w': shape overflows");
    check(make_file(R"({"__metadata__":{"epoch":3}})", ""), "__metadata__ value for 'epoch' must be a string");

    REQUIRE_THROWS_WITH(load_safetensors(dir + "/missing.safetensors"),
                        Contains(dir + "/missing.safetensors") && Contains("No such file"));
    REQUIRE_THROWS_WITH(parse_safetensors("abc", "mem.st"), Contains("'mem.st'"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("save rejects bad names without touching an existing file") {
    std::string dir = testing::temp_dir("safetensors-names");
    std::string path = dir + "/m.safetensors";
    save_safetensors(path, {{"a", Tensor::ones({2})}});
    std::string before = read_bytes(path);
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}}),
                        Contains(path) && Contains("duplicate tensor name 'a'"));
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"__metadata__", Tensor::ones({1})}}), Contains("reserved"));
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"u", Tensor()}}), Contains("tensor 'u' is undefined"));
    REQUIRE(read_bytes(path) == before);
    std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------- JSON

TEST_CASE("json parses scalars, containers and escapes") {
    using json::Value;
    REQUIRE(json::parse("null").is_null());
    REQUIRE(json::parse(" true ").as_bool());
    REQUIRE_FALSE(json::parse("false").as_bool());
    REQUIRE(json::parse("9223372036854775807").as_int() == std::numeric_limits<std::int64_t>::max());
    REQUIRE(json::parse("-9223372036854775808").as_int() == std::numeric_limits<std::int64_t>::min());
    REQUIRE(json::parse("-0").is_int());
    REQUIRE(json::parse("18446744073709551616").type() == json::Type::number);  // beyond int64: a double
    REQUIRE(json::parse("1.5e3").as_double() == 1500.0);
    REQUIRE(json::parse("1E-2").as_double() == 0.01);
    REQUIRE(json::parse("2.0").type() == json::Type::number);
    REQUIRE(json::parse("2.0").as_int() == 2);  // exact value, so allowed
    REQUIRE(json::parse("1e400").as_double() == HUGE_VAL);
    REQUIRE(std::isnan(json::parse("NaN").as_double()));
    REQUIRE(json::parse("-Infinity").as_double() == -HUGE_VAL);
    REQUIRE(json::parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
    REQUIRE(json::parse(R"("\u00e9\u20AC")").as_string() == "\xc3\xa9\xe2\x82\xac");
    REQUIRE(json::parse(R"("\ud83d\ude00")").as_string() == "\xf0\x9f\x98\x80");  // surrogate pair
    REQUIRE(json::parse(R"("\u0000")").as_string() == std::string(1, '\0'));
    REQUIRE(json::parse("\"caf\xc3\xa9\"").as_string() == "caf\xc3\xa9");  // raw UTF-8 passes

    Value v = json::parse(R"( {"z": [1, 2.5, "x", null, {"k": []}], "a": {}, "m": -3} )");
    REQUIRE(v.size() == 3);
    REQUIRE(v.as_object()[0].first == "z");  // insertion order kept
    REQUIRE(v.as_object()[1].first == "a");
    REQUIRE(v.at("z").at(1).as_double() == 2.5);
    REQUIRE(v.at("z").at(4).at("k").is_array());
    REQUIRE(v.at("m").as_int() == -3);
    REQUIRE(v.contains("a"));
    REQUIRE_FALSE(v.contains("b"));
    REQUIRE_THROWS_WITH(v.at("b"), Contains("no member \"b\""));
    REQUIRE_THROWS_WITH(v.at("z").as_string(), Contains("expected string, got array"));
    REQUIRE_THROWS_WITH(v.at("z").at(9), Contains("index 9 out of range"));
    REQUIRE_THROWS_WITH(v.at("z").at(1).as_int(), Contains("expected an integer"));
}

TEST_CASE("json errors say what and where") {
    auto bad = [](const std::string& text, const std::string& what) {
        INFO(text);
        REQUIRE_THROWS_WITH(json::parse(text), Contains(what));
    };
    bad("", "expected a value");
    bad("[1, 2,]", "expected a value");
    bad("{\"a\" 1}", "expected ':' after object key");
    bad("{\"a\": 1,}", "expected a string key");
    bad("{\"a\": 1 \"b\": 2}", "expected ',' or '}'");
    bad("[1 2]", "expected ',' or ']'");
    bad("\"abc", "unterminated string");
    bad("\"a\nb\"", "control character in string");
    bad("\"\\x\"", "invalid escape");
    bad("\"\\u12g4\"", "bad hex digit");
    bad("\"\\ud83d\"", "high surrogate");
    bad("\"\\ude00\"", "lone low surrogate");
    bad("012", "leading zeros");
    bad("1.", "digits after the decimal point");
    bad("1e", "digits in the exponent");
    bad("-", "expected digits");
    bad("tru", "expected a value");
    bad("{} x", "unexpected text after the JSON value");
    bad("{\"a\": 1, \"a\": 2}", "duplicate key \"a\"");
    bad(std::string(600, '[') + std::string(600, ']'), "nesting deeper than 512");
    bad("{\n  \"a\": [1,\n  2,, 3]}", "line 3, column 5");
}

TEST_CASE("json prints compact and pretty text that parses back to the same value") {
    using json::Value;
    Value v = Value::object();
    v["name"] = "resnet \"18\"\n";
    v["epoch"] = 3;
    v["lr"] = 0.1;
    v["loss"] = 1.0;       // a double stays a double
    v["big"] = 1e300;
    v["tiny"] = 5e-324;
    v["neg_zero"] = -0.0;
    v["ok"] = true;
    v["none"] = nullptr;
    v["ctrl"] = std::string("\x01\x1f", 2);
    v["list"].push_back(1);
    v["list"].push_back(Value::array());
    v["list"].push_back(Value::object());
    v["nested"]["x"]["y"] = std::int64_t{-9007199254740993};  // not representable as a double

    REQUIRE(v.dump() ==
            R"({"name":"resnet \"18\"\n","epoch":3,"lr":0.1,"loss":1.0,"big":1e+300,"tiny":5e-324,)"
            R"("neg_zero":-0.0,"ok":true,"none":null,"ctrl":"\u0001\u001f","list":[1,[],{}],)"
            R"("nested":{"x":{"y":-9007199254740993}}})");
    REQUIRE(Value(Value::Array{1, "a"}).dump(2) == "[\n  1,\n  \"a\"\n]");
    REQUIRE(json::parse(R"({"a":[1,{"b":null}],"c":{}})").dump(2) ==
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");

    for (int indent : {-1, 0, 2, 4}) {
        Value back = json::parse(v.dump(indent));
        REQUIRE(back == v);
        REQUIRE(back.dump() == v.dump());  // types survive too (1.0 stays a double)
    }
    REQUIRE(json::parse(Value(0.1 + 0.2).dump()).as_double() == 0.1 + 0.2);  // shortest exact text
    REQUIRE(Value(std::uint64_t{1} << 63).type() == json::Type::number);      // no wrap to negative
    REQUIRE(Value(std::uint64_t{1} << 62).as_int() == (std::int64_t{1} << 62));

    Value specials = Value(Value::Array{std::nan(""), HUGE_VAL, -HUGE_VAL});
    REQUIRE(specials.dump() == "[NaN,Infinity,-Infinity]");  // as Python's json module writes them
    auto sp = json::parse(specials.dump());
    REQUIRE(std::isnan(sp.at(0).as_double()));
    REQUIRE(sp.at(2).as_double() == -HUGE_VAL);

    // Equality: objects ignore member order; 1 == 1.0 numerically.
    REQUIRE(json::parse(R"({"a":1,"b":2})") == json::parse(R"({"b":2.0,"a":1})"));
    REQUIRE(json::parse("[1,2]") != json::parse("[2,1]"));
}
