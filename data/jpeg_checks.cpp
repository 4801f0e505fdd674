#include "data/jpeg_checks.h"

#include <algorithm>
#include <vector>

#include "tensor/error.h"

namespace dcodr::data {

namespace {

// The parts of a frame header (SOFn) the checks need.
struct Frame {
    std::uint8_t marker = 0;  // 0: no frame seen
    std::int64_t width = 0, height = 0;
    std::vector<std::pair<int, int>> sampling;  // per component: horizontal, vertical (1..4)
    std::vector<int> ids, quant_tables;          // per component: its id and quantisation table
};

// Which tables the segments so far have defined. stb allocates its decoder state with malloc
// and never checks that a scan's tables were defined, so an undefined one is read from
// uninitialised memory: a fuzzed file then decoded differently from run to run, and an undefined
// Huffman table's garbage offsets index past its arrays.
struct DefinedTables {
    bool huffman[2][4] = {};  // [DC = 0 / AC = 1][id]
    bool quant[4] = {};
};

bool is_restart(std::uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

// SOI, TEM and the restart markers carry no length.
bool has_no_length(std::uint8_t m) { return m == 0xD8 || m == 0x01 || is_restart(m); }

// Huffman-coded frames stb decodes: baseline, extended sequential, progressive.
bool is_huffman_frame(std::uint8_t m) { return m == 0xC0 || m == 0xC1 || m == 0xC2; }

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// 8x8 blocks in the frame, each component counted at its own resolution, without the padding
// to whole MCUs (a lower bound for both interleaved and single-component scans). 0 when the
// header is one stb refuses by itself (zero size, sampling factors outside 1..4).
std::int64_t frame_blocks(const Frame& f) {
    if (f.width <= 0 || f.height <= 0 || f.sampling.empty()) return 0;
    int hmax = 0, vmax = 0;
    for (auto [h, v] : f.sampling) {
        if (h < 1 || h > 4 || v < 1 || v > 4) return 0;
        hmax = std::max(hmax, h);
        vmax = std::max(vmax, v);
    }
    std::int64_t blocks = 0;  // <= 255 components x 8192 x 8192: fits easily
    for (auto [h, v] : f.sampling)
        blocks += ceil_div(ceil_div(f.width * h, hmax), 8) * ceil_div(ceil_div(f.height * v, vmax), 8);
    return blocks;
}

constexpr std::size_t kUneven = static_cast<std::size_t>(-1);

// A DHT segment read the way stb reads it: per table a class/id byte, 16 code counts and the
// symbols, taken from the stream even past the segment's length (zeros past the end of the
// file), until the length is used up. Returns where the tables end (past `n` in a truncated
// file), or kUneven when the length does not come out even: stb refuses the file there itself.
std::size_t check_huffman_tables(const std::uint8_t* d, std::size_t n, std::size_t p, DefinedTables& defined,
                                 const std::string& name) {
    long left = static_cast<long>((std::size_t{d[p + 2]} << 8) | d[p + 3]) - 2;
    std::size_t q = p + 4;
    while (left > 0) {
        const int table_class = q < n ? d[q] >> 4 : 0, id = q < n ? d[q] & 15 : 0;
        if (table_class > 1 || id > 3) return kUneven;  // stb refuses these ("bad DHT header")
        defined.huffman[table_class][id] = true;
        std::size_t codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += q + i < n ? d[q + i] : 0;
        DCODR_CHECK(codes <= 256, "cannot decode image '{}': corrupt JPEG (a Huffman table with {} codes, at most 256)",
                    name, codes);
        q += 17 + codes;
        left -= 17 + static_cast<long>(codes);
    }
    if (q > n) return q;  // the file ends inside the tables
    return left == 0 ? q : kUneven;
}

// DQT: per table a precision/id byte and 64 entries of 1 or 2 bytes. Tables stb refuses
// (precision > 1, id > 3) end the walk over the segment; stb stops there too.
void read_quant_tables(const std::uint8_t* d, std::size_t p, std::size_t end, DefinedTables& defined) {
    for (std::size_t q = p + 4; q < end;) {
        const int precision = d[q] >> 4, id = d[q] & 15;
        if (precision > 1 || id > 3) return;
        defined.quant[id] = true;
        q += 1 + 64 * static_cast<std::size_t>(precision + 1);
    }
}

Frame read_frame(const std::uint8_t* d, std::size_t p, std::size_t end) {
    Frame f;
    if (p + 10 > end) return f;
    f.marker = d[p + 1];
    f.height = (std::int64_t{d[p + 5]} << 8) | d[p + 6];
    f.width = (std::int64_t{d[p + 7]} << 8) | d[p + 8];
    const std::size_t components = d[p + 9];
    for (std::size_t i = 0; i < components && p + 12 + 3 * i < end; ++i) {
        const std::size_t c = p + 10 + 3 * i;
        f.ids.push_back(d[c]);
        f.sampling.emplace_back(d[c + 1] >> 4, d[c + 1] & 15);
        f.quant_tables.push_back(d[c + 2]);
    }
    return f;
}

// A scan header (SOS) may only use tables defined before it (JPEG B.2.4): the quantisation
// table of each of its components, a DC Huffman table unless it refines DC bits (progressive,
// Ah > 0) or codes only AC (Ss > 0), an AC table unless it codes only DC (progressive, Ss = 0).
// Headers stb refuses by themselves (unknown component, table id > 3) are left to stb.
void check_scan_tables(const std::uint8_t* d, std::size_t p, std::size_t end, const Frame& frame,
                       const DefinedTables& defined, const std::string& name) {
    if (p + 5 > end) return;
    const std::size_t components = d[p + 4];
    const std::size_t spectral = p + 5 + 2 * components;  // Ss, Se, Ah/Al follow the components
    if (spectral + 3 > end) return;
    const bool progressive = frame.marker == 0xC2;
    const int ss = d[spectral], ah = d[spectral + 2] >> 4;
    const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss > 0;
    for (std::size_t i = 0; i < components; ++i) {
        const int id = d[p + 5 + 2 * i], dc = d[p + 6 + 2 * i] >> 4, ac = d[p + 6 + 2 * i] & 15;
        auto at = std::find(frame.ids.begin(), frame.ids.end(), id);
        if (at == frame.ids.end() || dc > 3 || ac > 3) return;
        const int quant = frame.quant_tables[static_cast<std::size_t>(at - frame.ids.begin())];
        DCODR_CHECK(quant > 3 || defined.quant[quant],
                    "cannot decode image '{}': corrupt JPEG (component {} uses quantisation table {}, which no DQT "
                    "segment before its scan defines)", name, id, quant);
        DCODR_CHECK(!uses_dc || defined.huffman[0][dc],
                    "cannot decode image '{}': corrupt JPEG (a scan uses DC Huffman table {}, which no DHT segment "
                    "before it defines)", name, dc);
        DCODR_CHECK(!uses_ac || defined.huffman[1][ac],
                    "cannot decode image '{}': corrupt JPEG (a scan uses AC Huffman table {}, which no DHT segment "
                    "before it defines)", name, ac);
    }
}

// Where the segments start after the start-of-image marker, or 0 when the bytes are not a JPEG.
// stb reads the marker as 0xFF, any number of 0xFF fill bytes, then 0xD8, so a file that starts
// FF FF FF D8 is a JPEG to it, and must be one here (the fuzzer's way around an earlier check).
std::size_t after_start_of_image(const std::uint8_t* d, std::size_t n) {
    if (n < 2 || d[0] != 0xFF) return 0;
    std::size_t p = 1;
    while (p < n && d[p] == 0xFF) ++p;
    return p < n && d[p] == 0xD8 ? p + 1 : 0;
}

}  // namespace

void check_jpeg(const std::uint8_t* d, std::size_t n, const std::string& name) {
    std::size_t p = after_start_of_image(d, n);
    if (p == 0) return;
    Frame frame;
    DefinedTables defined;
    std::int64_t entropy_bytes = 0;  // scan data without stuffed zeros and restart markers
    bool at_end_of_image = false;
    while (p + 1 < n) {
        if (d[p] != 0xFF) {  // stb skips stray bytes between segments one at a time: so do we
            ++p;
            continue;
        }
        const std::uint8_t m = d[p + 1];
        if (m == 0xFF) {  // fill byte
            ++p;
            continue;
        }
        if (has_no_length(m)) {
            p += 2;
            continue;
        }
        if (m == 0xD9) {
            at_end_of_image = true;
            break;
        }
        if (p + 4 > n) break;
        if (m == 0xC4) {
            p = check_huffman_tables(d, n, p, defined, name);
            if (p == kUneven) return;  // stb gives up on this table: nothing more to check
            continue;
        }
        const std::size_t end = p + 2 + ((std::size_t{d[p + 2]} << 8) | d[p + 3]);
        if (is_huffman_frame(m)) frame = read_frame(d, p, std::min(end, n));
        if (m == 0xDB) read_quant_tables(d, p, std::min(end, n), defined);
        if (m == 0xDA && is_huffman_frame(frame.marker)) check_scan_tables(d, p, std::min(end, n), frame, defined, name);
        p = end;
        if (m == 0xDA) {  // entropy-coded data follows a scan header, up to the next marker
            while (p + 1 < n) {
                if (d[p] != 0xFF) {
                    ++entropy_bytes, ++p;
                } else if (d[p + 1] == 0x00) {
                    ++entropy_bytes, p += 2;  // a stuffed 0xFF data byte
                } else if (is_restart(d[p + 1])) {
                    p += 2;
                } else {
                    break;
                }
            }
        }
    }
    DCODR_CHECK(at_end_of_image,
                "cannot decode image '{}': the JPEG data ends before its end-of-image marker (a truncated file; "
                "decoding it would fill the missing part with gray)",
                name);
    const std::int64_t blocks = is_huffman_frame(frame.marker) ? frame_blocks(frame) : 0;
    const std::int64_t bits_per_block = frame.marker == 0xC2 ? 1 : 2;
    DCODR_CHECK(entropy_bytes * 8 >= blocks * bits_per_block,
                "cannot decode image '{}': a {} x {} {} JPEG has {} blocks of 8x8, which need at least {} bytes of "
                "entropy-coded data; the file has {} (a truncated file or a forged header)",
                name, frame.width, frame.height, frame.marker == 0xC2 ? "progressive" : "sequential", blocks,
                ceil_div(blocks * bits_per_block, 8), entropy_bytes);
}

}  // namespace dcodr::data
