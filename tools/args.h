// A small command-line parser: each command declares its options (with defaults, help and a
// help group), then reads them typed. Unknown flags and bad values are errors that name the flag.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace dcodr::tools {

// A command line that is wrong whatever the files and devices hold: an unknown command or flag,
// a missing or malformed value, a value out of range, a bad --config file. dcodr exits with 2
// for these and with 1 for every other failure (README, "Exit codes").
struct UsageError : Error {
    using Error::Error;
};

template <class... A>
[[noreturn]] void usage_error(fmt::format_string<A...> f, A&&... args) {
    throw UsageError(fmt::format(f, std::forward<A>(args)...));
}

// Runs `f`; a dcodr::Error it throws becomes a UsageError (for checks of values the user typed).
template <class F>
decltype(auto) as_usage_error(F&& f) {
    try {
        return f();
    } catch (const UsageError&) {
        throw;
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
}

class Args {
public:
    Args(std::string command, std::string summary, int argc, char** argv);

    // Declare before reading. A flag is a boolean option given without a value. Options with a
    // group (data, model, method, optimisation, evaluation, output, runtime) are listed under it
    // in --help; others first, under "options".
    void option(const std::string& name, const std::string& default_value, const std::string& help,
                const std::string& group = "");
    void flag(const std::string& name, const std::string& help, const std::string& group = "");
    // Changes a declared option's default (a command that tunes a shared option group).
    void set_default(const std::string& name, const std::string& value);
    // Checks the command line against the declarations; true when --help was asked for
    // (the help text has then been printed). Throws UsageError.
    bool parse();

    // Typed reads; a malformed value throws UsageError naming the flag.
    std::string str(const std::string& name) const;
    std::int64_t integer(const std::string& name) const;
    double number(const std::string& name) const;
    bool enabled(const std::string& name) const;
    bool given(const std::string& name) const;
    bool declared(const std::string& name) const { return options_.count(name) > 0; }
    const std::string& command() const { return command_; }
    std::string help() const;

private:
    struct Option {
        std::string default_value, help, group;
        bool is_flag;
    };
    std::string command_, summary_;
    std::vector<std::string> raw_;
    std::vector<std::string> order_;
    std::map<std::string, Option> options_;
    std::map<std::string, std::string> values_;
};

}  // namespace dcodr::tools
