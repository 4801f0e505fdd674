// DCoDR's decoder (domain embedding, AdaIN modulation, LORD generator) and its perceptual
// reconstruction loss: against PyTorch's float64 numbers, float64 gradient checks of every
// path, the authors' names, and loading VGG16 weights by torchvision names.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <set>

#include "autograd/functional.h"
#include "autograd/gradcheck.h"
#include "data/synthetic.h"
#include "method/reconstruction_loss.h"
#include "method/translate.h"
#include "nn/generator.h"
#include "nn/init.h"
#include "nn/safetensors.h"
#include "tests/fixture_resnet.h"
#include "tests/test_util.h"

using namespace dcodr;

namespace {

Tensor formula_tensor(const Shape& shape, double a, double b, double scale, double offset) {
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = offset + scale * std::sin(a * static_cast<double>(i) + b);
    return Tensor::from_vector(v, shape, DType::f64);
}

double norm_of(const Tensor& t) {
    double s = 0;
    for (double v : t.to_vector()) s += v * v;
    return std::sqrt(s);
}

nn::GeneratorConfig tiny_generator(std::int64_t image_channels) {
    nn::GeneratorConfig g;
    g.code_dim = 3;
    g.n_domains = 2;
    g.domain_dim = 4;
    g.channels = 8;
    g.image_size = 16;
    g.image_channels = image_channels;
    return g;
}

void check(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> in) {
    std::string msg = gradcheck(f, std::move(in));
    INFO(msg);
    REQUIRE(msg.empty());
}

}  // namespace

TEST_CASE("decoder and VGG16 reconstruction loss match PyTorch (float64 fixture)") {
    auto fx = testing::load_json_file(testing::fixture_path("dcodr-decoder-reference.json"));
    const auto& c = fx.at("config");
    nn::GeneratorConfig g;
    g.code_dim = c.at("code_dim").as_int();
    g.n_domains = c.at("n_domains").as_int();
    g.domain_dim = c.at("domain_dim").as_int();
    g.channels = c.at("channels").as_int();
    g.image_size = c.at("image_size").as_int();
    g.image_channels = c.at("image_channels").as_int();
    nn::DcodrDecoder decoder(g);
    decoder.to(DType::f64);
    testing::apply_fixture_rules(decoder.state_dict(), fx.at("decoder_weights"));
    method::PerceptualOptions po;
    po.mode = method::PerceptualMode::vgg16;
    method::ReconstructionLoss rec(po, Device::cpu(), DType::f64);
    testing::apply_fixture_rules(rec.vgg()->state_dict(), fx.at("vgg_weights"));

    const std::int64_t batch = static_cast<std::int64_t>(fx.at("inputs").at("domains").as_array().size());
    Tensor code = l2_normalize(formula_tensor({batch, g.code_dim}, 0.3, 0.1, 1.0, 0.0), 1).detach();
    code.set_requires_grad(true);
    std::vector<std::int64_t> ids;
    for (auto& d : fx.at("inputs").at("domains").as_array()) ids.push_back(d.as_int());
    Tensor target = formula_tensor({batch, g.image_channels, g.image_size, g.image_size}, 0.05, 0.0, 0.5, 0.5);

    Tensor images = decoder.forward(code, Tensor::from_vector(ids, {batch}));
    const auto& ref = fx.at("results");
    auto got = images.to_vector();
    const auto& expected = ref.at("images").as_array();
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("image value " << i << ": " << got[i] << " vs " << expected[i].as_double());
        REQUIRE(std::abs(got[i] - expected[i].as_double()) <= 1e-10);
    }
    Tensor loss = rec(images, target);
    INFO("loss " << loss.item() << " vs " << ref.at("loss").as_double());
    REQUIRE(loss.item() == Approx(ref.at("loss").as_double()).epsilon(1e-9));
    const auto& terms = ref.at("terms").as_array();
    REQUIRE(rec.last_terms().size() == terms.size());
    for (std::size_t t = 0; t < terms.size(); ++t) {
        INFO("term " << t << " (0 = pixels, then the VGG taps)");
        REQUIRE(rec.last_terms()[t].item() == Approx(terms[t].as_double()).epsilon(1e-9));
    }

    backward(loss);
    REQUIRE(norm_of(code.grad()) == Approx(ref.at("code_grad_norm").as_double()).epsilon(1e-8));
    std::size_t checked = 0;
    for (auto& p : decoder.named_parameters()) {
        const json::Value* r = ref.at("grad_norms").find(p.name);
        INFO("gradient of " << p.name);
        REQUIRE(r != nullptr);
        REQUIRE(p.tensor.grad().defined());
        REQUIRE(norm_of(p.tensor.grad()) == Approx(r->as_double()).epsilon(1e-8));
        ++checked;
    }
    REQUIRE(checked == ref.at("grad_norms").as_object().size());
    // Frozen: VGG16 gets no gradient.
    for (auto& p : rec.vgg()->named_parameters()) REQUIRE_FALSE(p.tensor.grad().defined());
}

TEST_CASE("gradcheck: embedding, the decoder's paths, AdaIN's affine inputs, the reconstruction loss") {
    nn::manual_seed(7);
    SECTION("embedding: a repeated id gets both rows' gradients") {
        nn::Embedding emb(4, 3, 0.5);
        emb.to(DType::f64);
        Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{2, 0, 2, 3, 2}, {5});
        check([&](auto&) { return emb.forward(ids); }, {emb.weight});
        Tensor grid_ids = Tensor::from_vector(std::vector<std::int64_t>{1, 1, 0, 3}, {2, 2});
        REQUIRE(emb.forward(grid_ids).shape() == Shape{2, 2, 3});
        REQUIRE_THROWS_WITH(emb.forward(Tensor::from_vector(std::vector<std::int64_t>{4}, {1})),
                            Catch::Contains("index_select"));
    }
    SECTION("AdaIN's input, scale and shift") {
        Tensor x = testing::random_tensor({2, 3, 4, 5}, 1).set_requires_grad(true);
        Tensor sc = testing::random_tensor({2, 3}, 2, 0.5, 1.5).set_requires_grad(true);
        Tensor sh = testing::random_tensor({2, 3}, 3).set_requires_grad(true);
        check([](auto& v) { return adain(v[0], v[1], v[2]); }, {x, sc, sh});
        // Strided scale/shift views, as the modulation hands them over.
        Tensor both = testing::random_tensor({2, 3, 2}, 4).set_requires_grad(true);
        check([](auto& v) { return adain(v[0], select(v[1], 2, 1), select(v[1], 2, 0)); }, {x, both});
        // Equal to the textbook formula with instance statistics (biased variance, eps inside).
        NoGradGuard ng;
        auto [m, var] = instance_norm_stats(x);
        Shape s{2, 3, 1, 1};
        Tensor manual = add(mul(div(sub(x, reshape(m, s)), sqrt(add_scalar(reshape(var, s), 1e-5))), reshape(sc, s)),
                            reshape(sh, s));
        REQUIRE_CLOSE(adain(x, sc, sh), manual, 1e-12, 1e-12);
    }
    SECTION("decoder: code, embedding, modulation, trunk, convolutions (colour and grey)") {
        for (std::int64_t channels : {3, 1}) {
            INFO("image channels " << channels);
            nn::DcodrDecoder dec(tiny_generator(channels));
            dec.to(DType::f64);
            Tensor code = testing::random_tensor({2, 3}, 5).set_requires_grad(true);
            Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{1, 0}, {2});
            auto f = [&](auto& v) { return dec.forward(v[0], ids); };
            // Every kind of parameter on the path; the convolutions' weight gradients have their
            // own checks (test_gradcheck_ops), their biases stand in for them here.
            check(f, {code, dec.class_embedding->weight,
                      static_cast<nn::Linear&>((*dec.modulation->adain_per_layer)[2]).weight,
                      static_cast<nn::Linear&>((*dec.generator->fc_layers)[0]).weight,
                      static_cast<nn::Linear&>((*dec.generator->fc_layers)[4]).bias,
                      static_cast<nn::Conv2d&>((*dec.generator->adain_conv_layers)[13]).bias,
                      static_cast<nn::Conv2d&>((*dec.generator->last_conv_layers)[0]).bias,
                      static_cast<nn::Conv2d&>((*dec.generator->last_conv_layers)[2]).bias});
        }
    }
    SECTION("reconstruction loss: pixel L1 and VGG16 features, grey tiled to RGB") {
        for (auto mode : {method::PerceptualMode::pixel, method::PerceptualMode::vgg16}) {
            method::PerceptualOptions po;
            po.mode = mode;
            po.vgg_width = 1.0 / 16;  // the full layout at a width a gradient check can afford
            method::ReconstructionLoss rec(po, Device::cpu(), DType::f64);
            for (std::int64_t c : {3, 1}) {
                INFO(method::perceptual_mode_name(mode) << ", channels " << c);
                // 8x8 values upsampled to the 32x32 VGG16 needs (five poolings): every layer's
                // backward is on the path, at a number of inputs a gradient check can afford.
                Tensor small = testing::random_tensor({1, c, 8, 8}, 8, 0, 1).set_requires_grad(true);
                Tensor x = testing::random_tensor({1, c, 32, 32}, 9, 0, 1);
                check([&](auto& v) { return rec(upsample_nearest2d(v[0], 4), x); }, {small});
            }
        }
    }
}

TEST_CASE("decoder: the authors' module names; 128-pixel images add a layer; bad configurations are refused") {
    nn::GeneratorConfig g = tiny_generator(3);
    g.image_size = 128;
    nn::DcodrDecoder dec(g);
    std::vector<std::string> names;
    for (auto& p : dec.named_parameters()) names.push_back(p.name);
    REQUIRE(names.front() == "class_embedding.weight");
    REQUIRE(std::count(names.begin(), names.end(), "generator.last_conv_layers.4.weight") == 1);
    REQUIRE(dec.generator->last_conv_layers->size() == 6);
    // Conv5x5 -> 64 (scaled: channels / 4) at the paper's width.
    nn::GeneratorConfig paper;
    REQUIRE(paper.out_channels() == 64);
    Tensor img = dec.forward(testing::random_tensor({2, 3}, 1, -1, 1, DType::f32),
                             Tensor::from_vector(std::vector<std::int64_t>{0, 1}, {2}));
    REQUIRE(img.shape() == Shape{2, 3, 128, 128});
    auto bad = tiny_generator(3);
    bad.image_size = 40;
    REQUIRE_THROWS_WITH(nn::DcodrDecoder(bad), Catch::Contains("multiple of 16"));
    bad = tiny_generator(2);
    REQUIRE_THROWS_WITH(nn::DcodrDecoder(bad), Catch::Contains("1 or 3 channels"));
    // The embedding starts in U(-0.05, 0.05), as the authors initialise it.
    nn::DcodrDecoder paper_dec(tiny_generator(3));
    for (double v : paper_dec.class_embedding->weight.to_vector()) REQUIRE(std::abs(v) <= 0.05);
}

TEST_CASE("VGG16 weights load by torchvision names; wrong names or shapes fail naming the tensor") {
    const std::string dir = testing::temp_dir("vgg");
    nn::manual_seed(3);
    nn::Vgg16Features reference;
    std::vector<nn::NamedTensor> file;
    for (auto& nt : reference.state_dict()) file.push_back({"vggnet." + nt.name, nt.tensor});
    file.push_back({"vggnet.classifier.0.weight", Tensor::zeros({4, 2})});  // present in vgg16(), not used
    const std::string good = dir + "/vgg16.safetensors";
    nn::save_safetensors(good, file, {});

    method::PerceptualOptions po;
    po.mode = method::PerceptualMode::vgg16;
    po.weights = good;
    po.seed = 99;  // random weights would differ from the reference's
    method::ReconstructionLoss rec(po, Device::cpu());
    auto got = rec.vgg()->state_dict();
    auto want = reference.state_dict();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE_CLOSE(got[i].tensor, want[i].tensor, 0, 0);
    REQUIRE_THAT(rec.describe(), Catch::Contains(good));

    auto write_without = [&](const std::string& drop, const Shape& reshape_to) {
        std::vector<nn::NamedTensor> f;
        for (auto& nt : reference.state_dict()) {
            if (nt.name == drop && reshape_to.empty()) continue;
            f.push_back({nt.name, nt.name == drop ? Tensor::zeros(reshape_to) : nt.tensor});
        }
        std::string path = dir + "/bad.safetensors";
        nn::save_safetensors(path, f, {});
        return path;
    };
    po.weights = write_without("features.28.weight", {});
    REQUIRE_THROWS_WITH(method::ReconstructionLoss(po, Device::cpu()), Catch::Contains("features.28.weight"));
    po.weights = write_without("features.5.bias", {3});
    REQUIRE_THROWS_WITH(method::ReconstructionLoss(po, Device::cpu()), Catch::Contains("features.5.bias"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("VGG16 weights load from PyTorch's own .pth files") {
    // torch.save of a vgg16().features-layout state dict at 1/32 width, formula weights
    // (tests/make_decoder_fixture.py); classifier.* is present and ignored.
    nn::Vgg16Features vgg(1.0 / 32);
    nn::load_vgg16_weights(vgg, testing::fixture_path("vgg16-width1-32.pth"));
    auto state = vgg.state_dict();
    REQUIRE(state.size() == 26);
    for (std::size_t k = 0; k < state.size(); ++k) {
        INFO(state[k].name);
        const Tensor& t = state[k].tensor;
        std::vector<double> expected(static_cast<std::size_t>(t.numel()));
        double fan_in = t.dim() == 4 ? static_cast<double>(t.size(1) * t.size(2) * t.size(3)) : 0;
        for (std::size_t i = 0; i < expected.size(); ++i) {
            double s = std::sin(0.7 * static_cast<double>(i) + 0.3 * static_cast<double>(k));
            expected[i] = t.dim() == 4 ? 0.5 * std::sqrt(3.0 / fan_in) * s : 0.1 * s;
        }
        REQUIRE_CLOSE(t, Tensor::from_vector(expected, t.shape(), DType::f64).to(DType::f32), 0, 0);
    }
    // The full-width network cannot take them: the first tensor that differs is named.
    nn::Vgg16Features full;
    REQUIRE_THROWS_WITH(nn::load_vgg16_weights(full, testing::fixture_path("vgg16-width1-32.pth")),
                        Catch::Contains("features.0.weight") && Catch::Contains("vgg16-width1-32.pth"));
}

TEST_CASE("random-weight VGG16 is seeded and leaves the default generator where it was") {
    method::PerceptualOptions po;
    po.mode = method::PerceptualMode::vgg16;
    po.vgg_width = 0.125;
    nn::manual_seed(5);
    Tensor before = nn::default_generator().uniform({4}, 0, 1);
    nn::manual_seed(5);
    method::ReconstructionLoss a(po, Device::cpu());
    Tensor after = nn::default_generator().uniform({4}, 0, 1);
    REQUIRE_CLOSE(after, before, 0, 0);
    method::ReconstructionLoss b(po, Device::cpu());
    REQUIRE_CLOSE(a.vgg()->state_dict()[0].tensor, b.vgg()->state_dict()[0].tensor, 0, 0);
    po.seed = 1;
    method::ReconstructionLoss other(po, Device::cpu());
    REQUIRE(norm_of(sub(other.vgg()->state_dict()[0].tensor, a.vgg()->state_dict()[0].tensor)) > 0);
    REQUIRE_THAT(a.describe(), Catch::Contains("RANDOM"));
}

TEST_CASE("translate: rows spread over the domains; the grid is input then one rendering per domain") {
    data::Dataset ds = data::shapes::generate(40, 3);
    auto rows = method::pick_rows(ds, 8);
    REQUIRE(rows.size() == 8);
    std::set<std::int64_t> distinct(rows.begin(), rows.end()), domains;
    for (auto i : rows) domains.insert(ds.domains[static_cast<std::size_t>(i)]);
    REQUIRE(distinct.size() == 8);
    REQUIRE(static_cast<std::int64_t>(domains.size()) == ds.n_domains);
    auto all = method::pick_rows(ds, 1000);  // more than there are: every image once
    REQUIRE(std::set<std::int64_t>(all.begin(), all.end()).size() == static_cast<std::size_t>(ds.count));

    nn::manual_seed(2);
    nn::DcodrEncoder enc({18, 0.125, 16, 3, false});
    nn::GeneratorConfig g = tiny_generator(3);
    g.n_domains = ds.n_domains;
    nn::DcodrDecoder dec(g);
    std::vector<std::int64_t> picked(rows.begin(), rows.begin() + 3), columns = {0, 2};
    Tensor tiles = method::domain_swap_tiles(enc, dec, ds, picked, columns, Device::cpu());
    REQUIRE(tiles.shape() == Shape{9, 3, 16, 16});
    // First tile of each row: the input; then the row's code drawn with the column's latent.
    REQUIRE_CLOSE(tiles.slice(0, 3, 4), data::load_batch(ds, {picked[1]}, {16, 16, 3}), 0, 0);
    Tensor codes = l2_normalize(enc.forward(data::load_batch(ds, {picked[1]}, {16, 16, 3})), 1);
    Tensor drawn = dec.forward(codes, Tensor::from_vector(std::vector<std::int64_t>{2}, {1}));
    REQUIRE_CLOSE(tiles.slice(0, 5, 6), drawn, 1e-6, 1e-5);
    REQUIRE_THROWS_WITH(method::domain_swap_tiles(enc, dec, ds, picked, {7}, Device::cpu()),
                        Catch::Contains("domain 7 out of range"));
    // Batches of 16 over 40 images (the last one partial) weigh every image once: the same as
    // one batch of all 40.
    std::vector<std::int64_t> every(static_cast<std::size_t>(ds.count));
    for (std::int64_t i = 0; i < ds.count; ++i) every[static_cast<std::size_t>(i)] = i;
    Tensor images = data::load_batch(ds, every, {16, 16, 3});
    double whole = l1_loss(dec.forward(l2_normalize(enc.forward(images), 1), data::batch_domains(ds, every)), images)
                       .item();
    REQUIRE(method::reconstruction_error(enc, dec, ds, Device::cpu(), 16) == Approx(whole).epsilon(1e-5));
}
