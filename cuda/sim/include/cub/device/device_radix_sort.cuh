// CUDA simulator: cub::DeviceRadixSort::SortPairs, the one CUB algorithm dcodr uses.
// Same contract as CUB's: a first call with d_temp_storage == nullptr only sets
// temp_storage_bytes; the sort is stable and orders keys by bits [begin_bit, end_bit) of
// their radix representation (for signed keys the sign bit flipped, as CUB does).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "dcodr_sim/counters.h"

namespace cub {

struct DeviceRadixSort {
    template <class K, class V, class N>
    static cudaError_t SortPairs(void* d_temp_storage, std::size_t& temp_storage_bytes, const K* keys_in,
                                 K* keys_out, const V* values_in, V* values_out, N num_items, int begin_bit = 0,
                                 int end_bit = static_cast<int>(sizeof(K) * 8), cudaStream_t = nullptr) {
        static_assert(std::is_integral_v<K> && sizeof(K) <= 8, "the simulator sorts integer keys");
        auto n = static_cast<std::size_t>(num_items);
        // Like CUB: scratch grows with the item count (double buffers of keys and values).
        std::size_t need = 256 + n * (sizeof(K) + sizeof(V));
        if (!d_temp_storage) {
            temp_storage_bytes = need;
            return cudaSuccess;
        }
        namespace s = dcodr::cuda::sim;
        if (temp_storage_bytes < need) {
            s::set_launch_error(cudaErrorInvalidValue, "cub::DeviceRadixSort::SortPairs: temp storage of " +
                                                           std::to_string(temp_storage_bytes) + " bytes, needs " +
                                                           std::to_string(need));
            return cudaErrorInvalidValue;
        }
        if (n == 0) return cudaSuccess;
        for (const void* p : {static_cast<const void*>(keys_in), static_cast<const void*>(keys_out),
                              static_cast<const void*>(values_in), static_cast<const void*>(values_out),
                              static_cast<const void*>(d_temp_storage)})
            if (!s::is_device_pointer(p)) {
                s::set_launch_error(cudaErrorInvalidDevicePointer, "cub::DeviceRadixSort::SortPairs: host pointer");
                return cudaErrorInvalidDevicePointer;
            }
        if (s::host_only()) return cudaSuccess;
        std::memset(d_temp_storage, 0xAB, need);  // scratch is scratch: callers must not rely on it
        using U = std::make_unsigned_t<K>;
        auto digits = [&](K k) {
            U u = static_cast<U>(k);
            if constexpr (std::is_signed_v<K>) u ^= U(1) << (sizeof(K) * 8 - 1);
            int width = end_bit - begin_bit;
            U mask = width >= static_cast<int>(sizeof(K) * 8) ? ~U(0) : ((U(1) << width) - 1);
            return (u >> begin_bit) & mask;
        };
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t(0));
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return digits(keys_in[a]) < digits(keys_in[b]); });
        std::vector<K> k(n);
        std::vector<V> v(n);
        for (std::size_t i = 0; i < n; ++i) {
            k[i] = keys_in[order[i]];
            v[i] = values_in[order[i]];
        }
        std::copy(k.begin(), k.end(), keys_out);
        std::copy(v.begin(), v.end(), values_out);
        return cudaSuccess;
    }
};

}  // namespace cub
