// A small in-tree fuzzing driver for the LLVMFuzzerTestOneInput harnesses of this folder, so
// they run in every build (gcc, sanitizers) without libFuzzer: it replays the seed corpus,
// then mutates it at random (bit flips, byte and integer overwrites with boundary values,
// insertions, deletions, splices, copies of tokens such as 0xFFFFFFFF) for a time or run
// budget. It has no coverage feedback, so the seeds carry the structure; built with clang's
// -fsanitize=fuzzer the same harnesses get libFuzzer instead (tools/fuzz.sh).
//
//   fuzz_<name> [--seconds S] [--runs N] [--seed X] <corpus file or folder>...
//
// A harness signals a finding by crashing (a sanitizer report, an uncaught exception other
// than dcodr::Error, a signal); the input being run is then written to fuzz-crash-<name>.bin
// in the working folder, for replay with `fuzz_<name> fuzz-crash-<name>.bin`.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define FUZZ_SANITIZED 1
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern const char* const kFuzzName;  // defined by each harness

namespace {

std::vector<std::uint8_t> g_current;  // the input being run, dumped when it kills us
char g_crash_path[256];

void dump_current() {
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (!g_current.empty() && ::write(fd, g_current.data(), g_current.size()) < 0) {
    }
    ::close(fd);
    const char msg[] = "\nfuzz: the input that failed was written to ";
    if (::write(2, msg, sizeof msg - 1) < 0 || ::write(2, g_crash_path, std::strlen(g_crash_path)) < 0 ||
        ::write(2, "\n", 1) < 0) {
    }
}

extern "C" void on_signal(int sig) {
    dump_current();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// xorshift64*: deterministic for a given --seed, so a run can be repeated.
struct Rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(next() % n) : 0; }
};

const std::uint64_t kInteresting[] = {0,          1,          0x7F,       0x80,       0xFF,        0x100,
                                      0x7FFF,     0x8000,     0xFFFF,     0x10000,    0x7FFFFFFF,  0x80000000,
                                      0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
                                      0xFFFFFFFFFFFFFFFF, 16777216, 1u << 28};
const char* const kTokens[] = {"PK\x01\x02", "PK\x03\x04", "PK\x05\x06", "PK\x06\x06", "PK\x06\x07", "\x93NUMPY",
                               "'descr'", "'shape'", "<i8", "<f4", "|u1", "(", ")", ",", "\"", "\n", "\r\n",
                               "\xEF\xBB\xBF", "IHDR", "IDAT", "\x89PNG\r\n\x1a\n", "\xFF\xD8\xFF", "{", "}", "[", "]",
                               ":", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "1e308",
                               "-9223372036854775808", "18446744073709551616", "nan", "\\u0000", "\\ud800"};

void mutate(std::vector<std::uint8_t>& d, const std::vector<std::vector<std::uint8_t>>& corpus, Rng& r) {
    const int ops = 1 + static_cast<int>(r.below(4));
    for (int k = 0; k < ops; ++k) {
        switch (r.below(8)) {
            case 0:  // flip a bit
                if (!d.empty()) d[r.below(d.size())] ^= static_cast<std::uint8_t>(1u << r.below(8));
                break;
            case 1:  // a random byte
                if (!d.empty()) d[r.below(d.size())] = static_cast<std::uint8_t>(r.next());
                break;
            case 2: {  // an interesting integer, 1/2/4/8 bytes little- or big-endian
                if (d.empty()) break;
                std::uint64_t v = kInteresting[r.below(sizeof kInteresting / sizeof *kInteresting)];
                std::size_t w = std::size_t{1} << r.below(4), at = r.below(d.size());
                bool big = r.below(2);
                for (std::size_t i = 0; i < w && at + i < d.size(); ++i)
                    d[at + i] = static_cast<std::uint8_t>(v >> (8 * (big ? w - 1 - i : i)));
                break;
            }
            case 3: {  // insert a token
                const char* t = kTokens[r.below(sizeof kTokens / sizeof *kTokens)];
                d.insert(d.begin() + static_cast<std::ptrdiff_t>(r.below(d.size() + 1)), t, t + std::strlen(t));
                break;
            }
            case 4: {  // delete a range
                if (d.empty()) break;
                std::size_t at = r.below(d.size()), n = 1 + r.below(std::min<std::size_t>(d.size() - at, 64));
                d.erase(d.begin() + static_cast<std::ptrdiff_t>(at), d.begin() + static_cast<std::ptrdiff_t>(at + n));
                break;
            }
            case 5: {  // duplicate a range
                if (d.empty() || d.size() > (1u << 20)) break;
                std::size_t at = r.below(d.size()), n = 1 + r.below(std::min<std::size_t>(d.size() - at, 64));
                std::vector<std::uint8_t> piece(d.begin() + static_cast<std::ptrdiff_t>(at),
                                                d.begin() + static_cast<std::ptrdiff_t>(at + n));
                d.insert(d.begin() + static_cast<std::ptrdiff_t>(r.below(d.size() + 1)), piece.begin(), piece.end());
                break;
            }
            case 6: {  // splice with another corpus entry
                const auto& o = corpus[r.below(corpus.size())];
                if (o.empty()) break;
                std::size_t cut = r.below(d.size() + 1), from = r.below(o.size());
                d.resize(cut);
                d.insert(d.end(), o.begin() + static_cast<std::ptrdiff_t>(from), o.end());
                break;
            }
            default:  // truncate
                d.resize(r.below(d.size() + 1));
        }
    }
}

void add_file(const std::filesystem::path& p, std::vector<std::vector<std::uint8_t>>& corpus) {
    std::ifstream f(p, std::ios::binary);
    corpus.emplace_back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 0;
    long long runs = -1;
    std::uint64_t seed = 1;
    std::vector<std::vector<std::uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (a == "--runs" && i + 1 < argc) runs = std::atoll(argv[++i]);
        else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
        else if (std::filesystem::is_directory(a)) {
            for (const auto& e : std::filesystem::directory_iterator(a))
                if (e.is_regular_file()) add_file(e.path(), corpus);
        } else if (std::filesystem::is_regular_file(a)) {
            add_file(a, corpus);
        } else {
            std::fprintf(stderr, "fuzz_%s: no such corpus file or folder: %s\n", kFuzzName, a.c_str());
            return 2;
        }
    }
    if (corpus.empty()) corpus.emplace_back();
    std::snprintf(g_crash_path, sizeof g_crash_path, "fuzz-crash-%s.bin", kFuzzName);
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, on_signal);
#if FUZZ_SANITIZED
    __sanitizer_set_death_callback(dump_current);  // a sanitizer report exits without a signal
#endif
    std::set_terminate([] {
        dump_current();
        std::fprintf(stderr, "fuzz_%s: an exception other than dcodr::Error escaped the parser\n", kFuzzName);
        std::abort();
    });
    const auto start = std::chrono::steady_clock::now();
    long long execs = 0;
    for (const auto& c : corpus) {  // replay first: every seed must pass as is
        g_current = c;
        LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
        ++execs;
    }
    Rng rng{seed * 0x9E3779B97F4A7C15ull + 1};
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    while ((runs < 0 || execs < runs) && (runs >= 0 || elapsed() < seconds)) {
        g_current = corpus[rng.below(corpus.size())];
        mutate(g_current, corpus, rng);
        LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
        ++execs;
    }
    std::printf("fuzz_%s: %lld inputs (%zu seeds + mutations) in %.1f s, seed %llu, no failure\n", kFuzzName, execs,
                corpus.size(), elapsed(), static_cast<unsigned long long>(seed));
    return 0;
}
