// The dcodr tool's argument handling: clear errors that name the bad flag or file.
#include <catch2/catch.hpp>

#include "tools/args.h"

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
}
