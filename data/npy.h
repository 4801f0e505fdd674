// NumPy .npy (format versions 1.0, 2.0, 3.0) and .npz (zip of .npy, stored entries) I/O.
//
// Supported element types: |u1, <i4, <i8, <f4, <f8, also |i1 <i2 <u2 <u4 <u8 (the authors' Cars3D
// labels are uint32) (little-endian, C order), and fixed-width
// strings <U<n> (numpy's str arrays, UCS-4) and |S<n> (bytes). This covers the authors'
// preprocessed data sets (uint8 images, integer labels), what dcodr writes (float32 codes, int64
// labels, attribute names) and what tools/preprocess writes. npz members may be stored or
// deflated (np.savez_compressed). Fortran-order arrays, big-endian and other dtypes are rejected
// with a message that names the file, the array and the problem, except that a data-set reader
// may ask load_npz to pass over members it cannot read (object arrays, bools, ...).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace dcodr::data {

enum class NpyType : std::uint8_t { u1, i4, i8, f4, f8, unicode, bytes, i1, i2, u2, u4, u8 };

const char* npy_descr(NpyType t);  // "|u1", "<i4", ... ("<U", "|S" without the width)
std::size_t npy_item_size(NpyType t);  // numeric types only

struct NpyArray {
    NpyType type = NpyType::f4;
    Shape shape;                       // () for a scalar
    std::vector<std::uint8_t> bytes;   // numel * item size, little-endian, C order
    std::int64_t chars = 0;            // unicode / bytes: characters per element (the n of <U<n>)

    std::int64_t numel() const { return shape_numel(shape); }
    bool is_integer() const { return !is_string() && type != NpyType::f4 && type != NpyType::f8; }
    bool is_string() const { return type == NpyType::unicode || type == NpyType::bytes; }
    std::size_t item_size() const;
    std::string descr() const;  // "<f4", "<U12", ...
    // Elements of a string array as UTF-8, trailing NULs removed (numpy's own padding).
    std::vector<std::string> to_strings() const;
    static NpyArray from_strings(const std::vector<std::string>& v);  // <U<longest>, shape [n]
    template <class T>
    const T* data() const { return reinterpret_cast<const T*>(bytes.data()); }
    template <class T>
    T* data() { return reinterpret_cast<T*>(bytes.data()); }

    // Element values converted (numeric types). Floating values given to to_int64 must be integral.
    std::vector<std::int64_t> to_int64() const;
    std::vector<double> to_double() const;
    std::vector<float> to_float() const;

    static NpyArray make(NpyType type, const Shape& shape);  // zero-filled
    static NpyArray from_u8(const std::vector<std::uint8_t>& v, const Shape& shape);
    static NpyArray from_i64(const std::vector<std::int64_t>& v, const Shape& shape);
    static NpyArray from_f32(const std::vector<float>& v, const Shape& shape);
    // float32 -> <f4, float64 -> <f8, int64 -> <i8 (any device).
    static NpyArray from_tensor(const Tensor& t);
    // <f4 -> float32, <f8 -> float64, integers -> int64, |u1 -> float32 (values 0..255).
    Tensor to_tensor() const;
};

// `name` identifies the data in error messages, e.g. "'data.npz' array 'imgs'".
NpyArray parse_npy(const std::uint8_t* data, std::size_t size, const std::string& name);
std::vector<std::uint8_t> serialize_npy(const NpyArray& array);

NpyArray load_npy(const std::string& path);
void save_npy(const std::string& path, const NpyArray& array);

// Entries in file order; the ".npy" suffix of entry names is removed.
using NpzEntries = std::vector<std::pair<std::string, NpyArray>>;
// With `skipped`, members whose dtype dcodr cannot read (object arrays, which would need
// unpickling, bools, complex, ...) are passed over and listed there as "name (dtype)" instead of
// failing the whole file; damaged members are errors either way.
NpzEntries load_npz(const std::string& path, std::vector<std::string>* skipped = nullptr);
void save_npz(const std::string& path, const NpzEntries& arrays);

// Lookup with an error naming the file and listing the arrays present.
const NpyArray& npz_get(const NpzEntries& entries, const std::string& name, const std::string& path);
const NpyArray* npz_find(const NpzEntries& entries, const std::string& name);

}  // namespace dcodr::data
