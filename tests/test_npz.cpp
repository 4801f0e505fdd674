// .npy / .npz reading and writing, and the authors' npz data set format.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "data/dataset.h"
#include "data/file_io.h"
#include "data/npy.h"
#include "tests/test_util.h"

using namespace dcodr;
using namespace dcodr::data;
using Catch::Matchers::Contains;

namespace {

// A hand-made .npy: lets tests write headers dcodr itself would never produce.
std::vector<std::uint8_t> raw_npy(const std::string& dict, const std::vector<std::uint8_t>& payload, int version = 1) {
    std::string h = dict;
    std::size_t pre = version == 1 ? 10 : 12;
    while ((pre + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::vector<std::uint8_t> out(pre + h.size() + payload.size(), 0);
    const char magic[] = "\x93NUMPY";
    std::memcpy(out.data(), magic, 6);
    out[6] = static_cast<std::uint8_t>(version);
    const std::uint32_t len = static_cast<std::uint32_t>(h.size());
    std::memcpy(out.data() + 8, &len, pre - 8);  // little-endian length, 2 or 4 bytes
    std::memcpy(out.data() + pre, h.data(), h.size());
    if (!payload.empty()) std::memcpy(out.data() + pre + h.size(), payload.data(), payload.size());
    return out;
}

template <class T>
NpyArray typed(NpyType t, const std::vector<T>& v, const Shape& s) {
    NpyArray a = NpyArray::make(t, s);
    std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
    return a;
}

Dataset tiny_dataset(std::int64_t n = 6) {
    Dataset ds;
    ds.source = "tiny";
    ds.count = n;
    ds.height = 4;
    ds.width = 5;
    ds.channels = 3;
    ds.pixels_u8.resize(static_cast<std::size_t>(n * 60));
    for (std::size_t i = 0; i < ds.pixels_u8.size(); ++i) ds.pixels_u8[i] = static_cast<std::uint8_t>(i * 7);
    ds.n_domains = 3;
    ds.attribute_names = {"pose", "light"};
    ds.attribute_classes = {4, 2};
    for (std::int64_t i = 0; i < n; ++i) {
        ds.domains.push_back(i % 3);
        ds.attributes.push_back(i % 4);
        ds.attributes.push_back(i % 2);
    }
    return ds;
}

}  // namespace

TEST_CASE("npy round trip for every dtype", "[npy]") {
    auto dir = testing::temp_dir("npy");
    std::vector<NpyArray> arrays = {
        typed<std::uint8_t>(NpyType::u1, {0, 1, 255, 7, 8, 9}, {2, 3}),
        typed<std::int32_t>(NpyType::i4, {-5, 0, 2147483647}, {3}),
        typed<std::int64_t>(NpyType::i8, {-1, (std::int64_t{1} << 40), 3, 4}, {2, 1, 2}),
        typed<float>(NpyType::f4, {1.5f, -2.25f, 3e-8f, 0.f}, {4}),
        typed<double>(NpyType::f8, {3.141592653589793}, {}),
        NpyArray::make(NpyType::f4, {0, 3}),
    };
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        const auto& a = arrays[i];
        std::string path = dir + "/a" + std::to_string(i) + ".npy";
        save_npy(path, a);
        NpyArray b = load_npy(path);
        INFO(npy_descr(a.type) << " " << shape_str(a.shape));
        CHECK(b.type == a.type);
        CHECK(b.shape == a.shape);
        CHECK(b.bytes == a.bytes);
        // numpy aligns the data start to 64 bytes
        auto raw = read_file(path);
        CHECK((raw.size() - a.bytes.size()) % 64 == 0);
    }
    CHECK(arrays[1].to_int64() == std::vector<std::int64_t>{-5, 0, 2147483647});
    CHECK(arrays[3].to_double()[1] == -2.25);
}

TEST_CASE("npy header variants: version 2, shape spellings", "[npy]") {
    std::vector<std::uint8_t> payload(12);
    float v[3] = {1, 2, 3};
    std::memcpy(payload.data(), v, 12);
    auto a = parse_npy(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", payload, 2).data(),
                       raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", payload, 2).size(), "x");
    CHECK(a.shape == Shape{3});
    auto bytes = raw_npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1, 3L)}", payload);
    auto b = parse_npy(bytes.data(), bytes.size(), "y");
    CHECK(b.shape == Shape{1, 3});
    CHECK(b.to_float()[2] == 3.0f);
}

TEST_CASE("npy errors name the file and the problem", "[npy]") {
    auto dir = testing::temp_dir("npy-err");
    auto write = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
        std::string p = dir + "/" + name;
        write_file(p, bytes);
        return p;
    };
    std::vector<std::uint8_t> eight(8, 0);
    auto trunc = write("trunc.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", eight));
    REQUIRE_THROWS_WITH(load_npy(trunc), Contains("trunc.npy") && Contains("truncated"));
    auto fort = write("fortran.npy", raw_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", eight));
    REQUIRE_THROWS_WITH(load_npy(fort), Contains("fortran.npy") && Contains("Fortran"));
    auto cplx = write("complex.npy", raw_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", eight));
    REQUIRE_THROWS_WITH(load_npy(cplx), Contains("complex.npy") && Contains("unsupported dtype '<c8'"));
    auto big = write("bigendian.npy", raw_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", eight));
    REQUIRE_THROWS_WITH(load_npy(big), Contains("bigendian.npy") && Contains("big-endian"));
    auto junk = write("junk.npy", std::vector<std::uint8_t>(40, 'x'));
    REQUIRE_THROWS_WITH(load_npy(junk), Contains("junk.npy") && Contains("bad magic"));
    auto cut = raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", eight);
    cut.resize(30);
    auto cuth = write("cuthead.npy", cut);
    REQUIRE_THROWS_WITH(load_npy(cuth), Contains("cuthead.npy") && Contains("truncated"));
    REQUIRE_THROWS_WITH(load_npy(dir + "/absent.npy"), Contains("absent.npy") && Contains("does not exist"));
}

TEST_CASE("npz round trip, tensors", "[npz]") {
    auto dir = testing::temp_dir("npz");
    NpzEntries e = {
        {"imgs", typed<std::uint8_t>(NpyType::u1, {1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2, 1})},
        {"classes", typed<std::int32_t>(NpyType::i4, {0, 1}, {2})},
        {"codes", NpyArray::from_tensor(Tensor::from_vector(std::vector<float>{0.5f, -1.f, 2.f, 4.f}, {2, 2}))},
        {"wide", typed<double>(NpyType::f8, {1e300, -0.0}, {2})},
        {"n_classes", NpyArray::from_i64({2}, {})},
    };
    std::string path = dir + "/x.npz";
    save_npz(path, e);
    auto back = load_npz(path);
    REQUIRE(back.size() == e.size());
    for (std::size_t i = 0; i < e.size(); ++i) {
        CHECK(back[i].first == e[i].first);
        CHECK(back[i].second.type == e[i].second.type);
        CHECK(back[i].second.shape == e[i].second.shape);
        CHECK(back[i].second.bytes == e[i].second.bytes);
    }
    Tensor codes = npz_get(back, "codes", path).to_tensor();
    CHECK(codes.shape() == Shape{2, 2});
    CHECK(codes.to_float_vector() == std::vector<float>{0.5f, -1.f, 2.f, 4.f});
    Tensor labels = npz_get(back, "classes", path).to_tensor();
    CHECK(labels.dtype() == DType::i64);
    REQUIRE_THROWS_WITH(npz_get(back, "contents", path), Contains("x.npz") && Contains("missing array 'contents'"));
}

TEST_CASE("npz errors: bad deflate data, truncation, corruption", "[npz]") {
    auto dir = testing::temp_dir("npz-err");
    std::string path = dir + "/good.npz";
    save_npz(path, {{"imgs", NpyArray::from_u8(std::vector<std::uint8_t>(64, 9), {64})}});
    auto bytes = read_file(path);

    // Mark the stored entry as deflated (method 8) in both headers: its bytes are then not a
    // valid deflate stream, which must be an error naming the member, not garbage data.
    auto comp = bytes;
    comp[8] = 8;
    for (std::size_t i = 0; i + 4 < comp.size(); ++i)
        if (comp[i] == 0x50 && comp[i + 1] == 0x4b && comp[i + 2] == 1 && comp[i + 3] == 2) comp[i + 10] = 8;
    write_file(dir + "/relabelled.npz", comp);
    REQUIRE_THROWS_WITH(load_npz(dir + "/relabelled.npz"), Contains("relabelled.npz") && Contains("'imgs'"));

    auto cut = bytes;
    cut.resize(bytes.size() / 2);
    write_file(dir + "/truncated.npz", cut);
    REQUIRE_THROWS_WITH(load_npz(dir + "/truncated.npz"), Contains("truncated.npz") && Contains("not a valid npz"));

    auto bad = bytes;
    bad[30 + 8 + 128 + 10] ^= 0xFF;  // a data byte (after local header, name, npy header)
    write_file(dir + "/corrupt.npz", bad);
    REQUIRE_THROWS_WITH(load_npz(dir + "/corrupt.npz"), Contains("corrupt.npz") && Contains("CRC"));
}

TEST_CASE("authors' npz data set format", "[npz][dataset]") {
    auto dir = testing::temp_dir("npz-ds");
    Dataset ds = tiny_dataset();
    std::string path = dir + "/tiny_train.npz";
    save_npz_dataset(ds, path);
    Dataset back = load_npz_dataset(path);
    CHECK(back.count == 6);
    CHECK(back.height == 4);
    CHECK(back.width == 5);
    CHECK(back.channels == 3);
    CHECK(back.pixels_u8 == ds.pixels_u8);
    CHECK(back.domains == ds.domains);
    CHECK(back.n_domains == 3);
    CHECK(back.attributes == ds.attributes);
    CHECK(back.attribute_names == ds.attribute_names);
    CHECK(back.attribute_classes == ds.attribute_classes);

    // The plain authors' layout (no dcodr extras, int32 labels, gray N x H x W images).
    NpzEntries plain = {
        {"imgs", NpyArray::from_u8(std::vector<std::uint8_t>(2 * 3 * 3, 128), {2, 3, 3})},
        {"classes", typed<std::int32_t>(NpyType::i4, {1, 0}, {2})},
        {"contents", typed<std::int32_t>(NpyType::i4, {0, 5, 2, 1}, {2, 2})},
        {"n_classes", typed<std::int64_t>(NpyType::i8, {2}, {})},
    };
    save_npz(dir + "/plain.npz", plain);
    Dataset p = load_npz_dataset(dir + "/plain.npz");
    CHECK(p.channels == 1);
    CHECK(p.n_domains == 2);
    CHECK(p.attribute_names == std::vector<std::string>{"attr0", "attr1"});
    CHECK(p.attribute_classes == std::vector<std::int64_t>{3, 6});
}

TEST_CASE("npz data set errors name the file and the problem", "[npz][dataset]") {
    auto dir = testing::temp_dir("npz-ds-err");
    auto imgs = NpyArray::from_u8(std::vector<std::uint8_t>(3 * 4 * 4 * 3, 1), {3, 4, 4, 3});
    auto classes = NpyArray::from_i64({0, 1, 1}, {3});
    auto contents = NpyArray::from_i64({0, 1, 2}, {3, 1});
    auto n_classes = NpyArray::from_i64({2}, {});
    auto save = [&](const std::string& name, const NpzEntries& e) {
        std::string p = dir + "/" + name;
        save_npz(p, e);
        return p;
    };
    auto missing = save("missing.npz", {{"imgs", imgs}, {"contents", contents}});
    REQUIRE_THROWS_WITH(load_npz_dataset(missing), Contains("missing.npz") && Contains("missing array 'classes'"));
    auto range = save("range.npz", {{"imgs", imgs},
                                    {"classes", NpyArray::from_i64({0, 2, 1}, {3})},
                                    {"contents", contents},
                                    {"n_classes", n_classes}});
    REQUIRE_THROWS_WITH(load_npz_dataset(range), Contains("range.npz") && Contains("out of range"));
    auto neg = save("negative.npz", {{"imgs", imgs}, {"classes", NpyArray::from_i64({0, -1, 1}, {3})}});
    REQUIRE_THROWS_WITH(load_npz_dataset(neg), Contains("negative.npz") && Contains("out of range"));
    auto len = save("length.npz", {{"imgs", imgs}, {"classes", NpyArray::from_i64({0, 1}, {2})}});
    REQUIRE_THROWS_WITH(load_npz_dataset(len), Contains("length.npz") && Contains("length mismatch"));
    auto clen = save("clength.npz",
                     {{"imgs", imgs}, {"classes", classes}, {"contents", NpyArray::from_i64({0, 1}, {2, 1})}});
    REQUIRE_THROWS_WITH(load_npz_dataset(clen), Contains("clength.npz") && Contains("'contents'") &&
                                                    Contains("length mismatch"));
    auto nchw = save("nchw.npz", {{"imgs", NpyArray::from_u8(std::vector<std::uint8_t>(3 * 3 * 4 * 4, 1), {3, 3, 4, 4})},
                                  {"classes", classes}});
    REQUIRE_THROWS_WITH(load_npz_dataset(nchw), Contains("nchw.npz") && Contains("wrong shape"));
    auto flat = save("flat.npz", {{"imgs", NpyArray::from_u8(std::vector<std::uint8_t>(3, 1), {3})}, {"classes", classes}});
    REQUIRE_THROWS_WITH(load_npz_dataset(flat), Contains("flat.npz") && Contains("wrong shape"));
    auto dtype = save("dtype.npz", {{"imgs", NpyArray::from_i64(std::vector<std::int64_t>(48, 1), {3, 4, 4, 1})},
                                    {"classes", classes}});
    REQUIRE_THROWS_WITH(load_npz_dataset(dtype), Contains("dtype.npz") && Contains("unsupported dtype"));
}

TEST_CASE("string arrays: <U and |S read, <U written as numpy writes it", "[npz]") {
    // np.array(['ab', 'xyz']) is <U3: UCS-4 code points, NUL-padded.
    std::vector<std::uint8_t> u(2 * 3 * 4, 0);
    const char* words[] = {"ab", "xyz"};
    for (int w = 0; w < 2; ++w)
        for (int c = 0; words[w][c]; ++c) u[(w * 3 + c) * 4] = static_cast<std::uint8_t>(words[w][c]);
    auto a = parse_npy(raw_npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", u).data(),
                       raw_npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", u).size(), "u");
    CHECK(a.is_string());
    CHECK(a.to_strings() == std::vector<std::string>{"ab", "xyz"});
    std::vector<std::uint8_t> sb = {'h', 'i', 0, 'y', 'o', 'u'};
    auto raw_s = raw_npy("{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", sb);
    CHECK(parse_npy(raw_s.data(), raw_s.size(), "s").to_strings() == std::vector<std::string>{"hi", "you"});
    // Round trip, non-ASCII included; the header says <U of the longest name.
    auto names = NpyArray::from_strings({"floor_hue", "élévation", "x"});
    CHECK(names.descr() == "<U9");
    auto bytes = serialize_npy(names);
    auto back = parse_npy(bytes.data(), bytes.size(), "names");
    CHECK(back.to_strings() == std::vector<std::string>{"floor_hue", "élévation", "x"});
    REQUIRE_THROWS_WITH(back.to_int64(), Contains("string array"));
    REQUIRE_THROWS_WITH(back.to_tensor(), Contains("string array"));
}

TEST_CASE("npz written by numpy: savez_compressed, string names, members dcodr ignores", "[npz][dataset]") {
    // tests/make_npz_fixtures.py: the same data set through np.savez_compressed (deflated) and
    // np.savez (stored), with an object array, a bool array and float orig_contents beside it.
    for (const char* file : {"npz/authors_compressed.npz", "npz/authors_stored.npz"}) {
        INFO(file);
        const std::string path = testing::fixture_path(file);
        Dataset ds = load_npz_dataset(path);
        CHECK(ds.count == 6);
        CHECK(ds.height == 4);
        CHECK(ds.width == 5);
        CHECK(ds.channels == 3);
        std::vector<std::uint8_t> want(6 * 4 * 5 * 3);
        for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<std::uint8_t>(i * 7 % 256);
        CHECK(ds.pixels_u8 == want);
        CHECK(ds.domains == std::vector<std::int64_t>{0, 1, 2, 0, 1, 2});
        CHECK(ds.n_domains == 3);
        CHECK(ds.attributes == std::vector<std::int64_t>{0, 3, 1, 2, 2, 1, 3, 0, 0, 1, 1, 2});
        CHECK(ds.attribute_names == std::vector<std::string>{"azimuth", "élévation"});  // from contents_names
        REQUIRE(ds.targets.size() == 1);
        CHECK(ds.targets[0].name == "landmarks");
        CHECK(ds.targets[0].dims == 4);
        CHECK(ds.targets[0].values[5] == 12.5f);
        // the strict reader refuses the object array; the tolerant one lists what it passed over
        REQUIRE_THROWS_WITH(load_npz(path), Contains("contents_strings") && Contains("|O"));
        std::vector<std::string> skipped;
        auto entries = load_npz(path, &skipped);
        CHECK(skipped == std::vector<std::string>{"contents_strings (|O)", "is_flipped (|b1)"});
        CHECK(npz_find(entries, "orig_contents") != nullptr);
    }
    // dcodr writes the names as a string array numpy reads back as such, and reads them again.
    auto dir = testing::temp_dir("npz-names");
    Dataset ds = load_npz_dataset(testing::fixture_path("npz/authors_stored.npz"));
    save_npz_dataset(ds, dir + "/again.npz");
    auto entries = load_npz(dir + "/again.npz");
    CHECK(npz_get(entries, "contents_names", dir).descr() == "<U9");
    Dataset again = load_npz_dataset(dir + "/again.npz");
    CHECK(again.attribute_names == ds.attribute_names);
    CHECK(again.targets.size() == 1);
    CHECK(again.targets[0].values == ds.targets[0].values);
    // names that do not fit the columns are an error naming the member
    auto e2 = load_npz(dir + "/again.npz");
    for (auto& [n, a] : e2)
        if (n == "contents_names") a = NpyArray::from_strings({"only_one"});
    save_npz(dir + "/wrong.npz", e2);
    REQUIRE_THROWS_WITH(load_npz_dataset(dir + "/wrong.npz"),
                        Contains("wrong.npz") && Contains("contents_names") && Contains("1 names for 2"));
}
