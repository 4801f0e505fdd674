// ResNet-18 built from our nn modules against PyTorch/torchvision's float64 numbers
// (tests/fixtures/torchvision-resnet18-reference.json): outputs, loss and every parameter
// gradient, in train mode (batch statistics) and eval mode (running statistics).
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/functional.h"
#include "tests/fixture_resnet.h"
#include "tests/test_util.h"

using namespace dcodr;

namespace {

double rel_err(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

void run_mode(const std::string& mode, DType dtype, double tol) {
    auto fixture = testing::load_json_file(testing::fixture_path("torchvision-resnet18-reference.json"));
    nn::ResNet model(18, 10);
    model.to(dtype);  // before the weights are written, so float64 keeps every digit
    testing::apply_fixture_weights(model, fixture);
    model.train(mode == "train");
    Tensor x = testing::fixture_input(fixture, dtype);
    Tensor out = model(x);
    const auto& ref = fixture.at("results").at(mode);

    // Output values.
    auto got = out.to_vector();
    std::vector<double> expected;
    for (auto& row : ref.at("output").as_array())
        for (auto& v : row.as_array()) expected.push_back(v.as_double());
    REQUIRE(got.size() == expected.size());
    double out_scale = 0;
    for (double e : expected) out_scale = std::max(out_scale, std::abs(e));
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO(mode << " output " << i << ": " << got[i] << " vs " << expected[i]);
        REQUIRE(std::abs(got[i] - expected[i]) <= tol * out_scale);
    }

    // loss = sum(output[i] * cos(0.1 i)).
    std::vector<double> w(got.size());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.1 * static_cast<double>(i));
    Tensor loss = sum(mul(out, Tensor::from_vector(w, out.shape(), dtype)));
    double ref_loss = ref.at("loss").as_double();
    INFO(mode << " loss " << loss.item() << " vs " << ref_loss);
    REQUIRE(std::abs(loss.item() - ref_loss) <= tol * std::max(1.0, std::abs(ref_loss)));

    backward(loss);
    std::size_t checked = 0;
    for (auto& p : model.named_parameters()) {
        const json::Value* g = ref.at("grads").find(p.name);
        REQUIRE(g != nullptr);
        Tensor grad = p.tensor.grad();
        REQUIRE(grad.defined());
        auto gv = grad.to_vector();
        double norm = 0;
        for (double v : gv) norm += v * v;
        norm = std::sqrt(norm);
        double ref_norm = g->at("norm").as_double();
        INFO(mode << " grad norm of " << p.name << ": " << norm << " vs " << ref_norm);
        REQUIRE(rel_err(norm, ref_norm) <= tol);
        const auto& first = g->at("first").as_array();
        for (std::size_t i = 0; i < first.size(); ++i) {
            INFO(mode << " grad of " << p.name << "[" << i << "]: " << gv[i] << " vs " << first[i].as_double());
            REQUIRE(std::abs(gv[i] - first[i].as_double()) <= tol * std::max(ref_norm, 1e-12));
        }
        ++checked;
    }
    REQUIRE(checked == ref.at("grads").size());
}

}  // namespace

TEST_CASE("ResNet-18 matches torchvision in float64, train mode") { run_mode("train", DType::f64, 1e-9); }
TEST_CASE("ResNet-18 matches torchvision in float64, eval mode") { run_mode("eval", DType::f64, 1e-9); }
TEST_CASE("ResNet-18 matches torchvision in float32, train mode") { run_mode("train", DType::f32, 1e-4); }
TEST_CASE("ResNet-18 matches torchvision in float32, eval mode") { run_mode("eval", DType::f32, 1e-4); }
