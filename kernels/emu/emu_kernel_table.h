// emu_kernel_table.h: turns a kernel function into a table entry whose thunk
// unpacks the launch's 8-byte parameter slots into the kernel's typed
// parameters, exactly as cuLaunchKernel reads them (little-endian: an int or
// float parameter is the low 4 bytes of its slot).
#pragma once
#include <stdint.h>
#include <string.h>

#include <utility>

namespace suture_emu {

typedef void (*Thunk)(const uint64_t* slots);

struct KernelInfo {
  const char* name;
  int variant;
  Thunk thunk;
  const char* kinds;  // one letter per parameter, see emu_api.h
};

template <class T>
struct Param;
template <class T>
struct Param<T*> {
  static constexpr char kind = 'p';
  static T* get(uint64_t s) { return reinterpret_cast<T*>(static_cast<uintptr_t>(s)); }
};
template <>
struct Param<int> {
  static constexpr char kind = 'i';
  static int get(uint64_t s) { return static_cast<int>(static_cast<uint32_t>(s)); }
};
template <>
struct Param<long long> {
  static constexpr char kind = 'l';
  static long long get(uint64_t s) { return static_cast<long long>(s); }
};
template <>
struct Param<float> {
  static constexpr char kind = 'f';
  static float get(uint64_t s) {
    const uint32_t bits = static_cast<uint32_t>(s);
    float v;
    memcpy(&v, &bits, 4);
    return v;
  }
};
template <>
struct Param<double> {
  static constexpr char kind = 'd';
  static double get(uint64_t s) {
    double v;
    memcpy(&v, &s, 8);
    return v;
  }
};

template <class F, F f>
struct Entry;
template <class... A, void (*F)(A...)>
struct Entry<void (*)(A...), F> {
  static constexpr char kinds[sizeof...(A) + 1] = {Param<A>::kind..., 0};
  static void call(const uint64_t* s) { call_with(s, std::index_sequence_for<A...>{}); }
  template <size_t... I>
  static void call_with(const uint64_t* s, std::index_sequence<I...>) {
    F(Param<A>::get(s[I])...);
  }
};

}  // namespace suture_emu

#define SUTURE_EMU_ENTRY(fn, label, variant) \
  {label, variant, &::suture_emu::Entry<decltype(&fn), &fn>::call, ::suture_emu::Entry<decltype(&fn), &fn>::kinds},
