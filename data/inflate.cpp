// A DEFLATE decoder in the manner of zlib's reference decoder "puff": canonical Huffman
// codes decoded bit by bit from (count per length, symbols in code order) tables. Slower
// than zlib's table-driven inflate, which is fine for the rare deflated checkpoint entry.
#include "data/inflate.h"

#include <array>

#include "tensor/error.h"

namespace dcodr::data {

namespace {

constexpr int kMaxBits = 15;

struct Huffman {
    std::array<std::int16_t, kMaxBits + 1> count{};  // codes of each length
    std::vector<std::int16_t> symbol;                 // symbols ordered by code
};

class Inflater {
public:
    Inflater(std::string_view in, std::size_t expected, const std::string& what)
        : in_(in), expected_(expected), what_(what) {
        out_.reserve(expected);
    }

    std::vector<std::uint8_t> run() {
        int last = 0;
        do {
            last = bits(1);
            int type = bits(2);
            if (type == 0) stored();
            else if (type == 1) fixed();
            else if (type == 2) dynamic();
            else bad("invalid block type 3");
        } while (!last);
        if (out_.size() != expected_)
            fail("{}: deflated data holds {} bytes, its zip entry declares {}", what_, out_.size(), expected_);
        return std::move(out_);
    }

private:
    [[noreturn]] void bad(const char* why) const { fail("{}: corrupt deflate stream ({})", what_, why); }

    int bits(int need) {
        std::uint32_t val = bitbuf_;
        while (bitcnt_ < need) {
            if (pos_ >= in_.size()) fail("{}: deflate stream ends early (truncated?)", what_);
            val |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in_[pos_++])) << bitcnt_;
            bitcnt_ += 8;
        }
        bitbuf_ = val >> need;
        bitcnt_ -= need;
        return static_cast<int>(val & ((1u << need) - 1));
    }

    void put(std::uint8_t b) {
        if (out_.size() >= expected_)
            fail("{}: deflated data grows past the {} bytes its zip entry declares (corrupt or a zip bomb)", what_,
                 expected_);
        out_.push_back(b);
    }

    void stored() {
        bitbuf_ = 0;  // a stored block starts at the next byte boundary
        bitcnt_ = 0;
        if (pos_ + 4 > in_.size()) fail("{}: deflate stream ends early (truncated?)", what_);
        auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<std::uint8_t>(in_[pos_ + i])); };
        unsigned len = byte(0) | (byte(1) << 8), nlen = byte(2) | (byte(3) << 8);
        if (len != (~nlen & 0xFFFFu)) bad("stored block length check failed");
        pos_ += 4;
        if (pos_ + len > in_.size()) fail("{}: deflate stream ends early (truncated?)", what_);
        for (unsigned i = 0; i < len; ++i) put(static_cast<std::uint8_t>(in_[pos_ + i]));
        pos_ += len;
    }

    // Returns how many codes are left unused (0: complete; < 0: over-subscribed).
    static int construct(Huffman& h, const std::int16_t* length, int n) {
        h.count.fill(0);
        h.symbol.assign(static_cast<std::size_t>(n), 0);
        for (int s = 0; s < n; ++s) h.count[length[s]]++;
        if (h.count[0] == n) return 0;
        int left = 1;
        for (int len = 1; len <= kMaxBits; ++len) {
            left <<= 1;
            left -= h.count[len];
            if (left < 0) return left;
        }
        std::array<std::int16_t, kMaxBits + 1> offs{};
        for (int len = 1; len < kMaxBits; ++len) offs[len + 1] = static_cast<std::int16_t>(offs[len] + h.count[len]);
        for (int s = 0; s < n; ++s)
            if (length[s] != 0) h.symbol[static_cast<std::size_t>(offs[length[s]]++)] = static_cast<std::int16_t>(s);
        return left;
    }

    int decode(const Huffman& h) {
        int code = 0, first = 0, index = 0;
        for (int len = 1; len <= kMaxBits; ++len) {
            code |= bits(1);
            int count = h.count[len];
            if (code - count < first) return h.symbol[static_cast<std::size_t>(index + (code - first))];
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        bad("a code matches no symbol");
    }

    void codes(const Huffman& lencode, const Huffman& distcode) {
        static constexpr std::int16_t lbase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                   31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
        static constexpr std::int16_t lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                  2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
        static constexpr std::int32_t dbase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,
                                                   33,  49,  65,  97,  129, 193,  257,  385,  513,  769,
                                                   1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
        static constexpr std::int16_t dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                  6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
        for (;;) {
            int symbol = decode(lencode);
            if (symbol < 256) {
                put(static_cast<std::uint8_t>(symbol));
                continue;
            }
            if (symbol == 256) return;
            symbol -= 257;
            if (symbol >= 29) bad("invalid length code");
            std::size_t len = static_cast<std::size_t>(lbase[symbol] + bits(lext[symbol]));
            symbol = decode(distcode);
            if (symbol >= 30) bad("invalid distance code");
            std::size_t dist = static_cast<std::size_t>(dbase[symbol] + bits(dext[symbol]));
            if (dist > out_.size()) bad("a distance points before the start of the data");
            for (std::size_t i = 0; i < len; ++i) put(out_[out_.size() - dist]);
        }
    }

    void fixed() {
        if (!fixed_built_) {
            std::array<std::int16_t, 288 + 30> length{};
            for (int s = 0; s < 288; ++s) length[static_cast<std::size_t>(s)] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
            for (int s = 288; s < 288 + 30; ++s) length[static_cast<std::size_t>(s)] = 5;
            construct(fixed_len_, length.data(), 288);
            construct(fixed_dist_, length.data() + 288, 30);
            fixed_built_ = true;
        }
        codes(fixed_len_, fixed_dist_);
    }

    void dynamic() {
        static constexpr int order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        int nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
        if (nlen > 286 || ndist > 30) bad("too many length or distance codes");
        std::array<std::int16_t, 286 + 30> length{};
        for (int i = 0; i < ncode; ++i) length[static_cast<std::size_t>(order[i])] = static_cast<std::int16_t>(bits(3));
        Huffman lencode, distcode;
        if (construct(lencode, length.data(), 19) != 0) bad("incomplete code-length code");
        for (int i = 0; i < nlen + ndist;) {
            int symbol = decode(lencode);
            if (symbol < 16) {
                length[static_cast<std::size_t>(i++)] = static_cast<std::int16_t>(symbol);
                continue;
            }
            std::int16_t len = 0;
            int repeat = 0;
            if (symbol == 16) {
                if (i == 0) bad("repeat with no first length");
                len = length[static_cast<std::size_t>(i - 1)];
                repeat = 3 + bits(2);
            } else if (symbol == 17) {
                repeat = 3 + bits(3);
            } else {
                repeat = 11 + bits(7);
            }
            if (i + repeat > nlen + ndist) bad("too many lengths");
            while (repeat--) length[static_cast<std::size_t>(i++)] = len;
        }
        if (length[256] == 0) bad("no end-of-block code");
        int err = construct(lencode, length.data(), nlen);
        if (err < 0 || (err > 0 && nlen - lencode.count[0] != 1)) bad("incomplete literal/length code");
        err = construct(distcode, length.data() + nlen, ndist);
        if (err < 0 || (err > 0 && ndist - distcode.count[0] != 1)) bad("incomplete distance code");
        codes(lencode, distcode);
    }

    std::string_view in_;
    std::size_t expected_;
    const std::string& what_;
    std::size_t pos_ = 0;
    std::uint32_t bitbuf_ = 0;
    int bitcnt_ = 0;
    std::vector<std::uint8_t> out_;
    Huffman fixed_len_, fixed_dist_;
    bool fixed_built_ = false;
};

}  // namespace

std::vector<std::uint8_t> inflate_raw(std::string_view compressed, std::size_t expected_size, const std::string& what) {
    return Inflater(compressed, expected_size, what).run();
}

}  // namespace dcodr::data
