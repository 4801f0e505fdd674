#include "tools/option_checks.h"

#include <cmath>
#include <iostream>
#include <thread>

#include "method/train_options.h"
#include "tensor/error.h"

namespace dcodr::tools {

namespace {

void integer_in(const char* flag, std::int64_t v, std::int64_t lo, std::int64_t hi, const char* why = "") {
    DCODR_CHECK(v >= lo && v <= hi, "--{} must be in [{}, {}], got {}{}", flag, lo, hi, v, why);
}

void number_in(const char* flag, double v, double lo, double hi, bool lo_open, const char* why = "",
               bool hi_open = false) {
    const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    DCODR_CHECK(ok, "--{} must be a finite number in {}{}, {}{}, got {}{}", flag, lo_open ? "(" : "[", lo, hi,
                hi_open ? ")" : "]", v, why);
}

}  // namespace

void check_train_config(const method::TrainConfig& c) { method::check_train_config(c); }

void check_probe_config(const method::ProbeConfig& p) {
    // A batch of 1 cannot train the probe's batch norm; with no epochs or patience it never trains.
    integer_in("probe-batch", p.batch_size, 2, 1 << 20);
    integer_in("probe-epochs", p.max_epochs, 1, 100000);
    integer_in("probe-patience", p.patience, 1, 100000);
    number_in("probe-lr", p.lr, 0, 10, true);
    DCODR_CHECK(p.split_test == 0 || (p.split_test > 0 && p.split_test < 1),
                "--probe-on-test must be 0 (off) or a fraction in (0, 1), got {}", p.split_test);
}

void check_data_options(const Args& a) {
    if (a.str("data") == "synthetic")
        as_usage_error([&] { integer_in("synthetic-count", a.integer("synthetic-count"), 8, 10000000); });
}

data::CsvOptions csv_options_from(const Args& a) {
    data::CsvOptions o;
    if (a.declared("image-size") && a.integer("image-size") != 0) {
        integer_in("image-size", a.integer("image-size"), 16, 1024);
        o.mixed_size_target = a.integer("image-size");
    }
    return o;
}

}  // namespace dcodr::tools
