// Choosing the kernel table: once per process, from cpuid + xgetbv (the CPU must
// have the instructions and the OS must save the wider registers), unless
// LSTM_FAST_ISA forces a path.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "kernels.h"

#if defined(LSTM_FAST_HAVE_X86_KERNELS)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace lstm_fast {
namespace {

// One core's L1d and L2 sizes, and the L3 (l3_bytes below), decide how lstm.cpp spreads
// bandwidth-bound work over cores. glibc answers from cpuid on x86-64; where the OS gives no
// figure: 32 KiB and 1 MiB (the smallest L1d and a middling L2 of recent x86-64 and arm64
// server cores), and 4 MiB of L3 (small: a wrong guess keeps a big batch's blocks split).
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
constexpr int kL1dName = _SC_LEVEL1_DCACHE_SIZE, kL2Name = _SC_LEVEL2_CACHE_SIZE;
int64_t cache_bytes(int name, int64_t fallback) {
    const long n = sysconf(name);
    return n >= (16 << 10) && n <= (int64_t(1) << 30) ? int64_t(n) : fallback;
}
#else
constexpr int kL1dName = 0, kL2Name = 0;
int64_t cache_bytes(int, int64_t fallback) { return fallback; }
#endif

// The L3 from Linux's sysfs (cpu0's level-3 cache, "32768K"): glibc's sysconf answer can
// be far off in a VM (320 MiB on a Zen 4 guest whose cache is 32 MiB).
int64_t l3_bytes(int64_t fallback) {
#if defined(__linux__)
    for (int i = 0; i < 8; ++i) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        std::ifstream level(dir + "level"), size(dir + "size");
        int lv = 0;
        std::string text;
        if (!(level >> lv) || lv != 3 || !(size >> text)) continue;
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const double unit = *end == 'K' ? 1024.0 : *end == 'M' ? 1024.0 * 1024.0 : 1.0;
        const double bytes = v * unit;
        if (bytes >= double(256 << 10) && bytes <= double(int64_t(1) << 32)) return int64_t(bytes);
    }
#endif
    return fallback;
}

struct Features {
    bool avx2_fma = false;
    bool avx512 = false;
    bool avx512_bf16 = false;  // vdpbf16ps (Cooper Lake, Sapphire Rapids, Zen 4 and later)
    bool avx512_vnni = false;  // vpdpbusd (Cascade Lake, Ice Lake, Zen 4 and later)
    bool avx512_bw = false;    // byte/word ops (every AVX-512 server CPU from Skylake-SP on)
    bool amx_bf16 = false;     // AMX-TILE + AMX-BF16 (Sapphire Rapids and later), with the OS's leave
    bool amx_int8 = false;     // AMX-TILE + AMX-INT8, likewise
};

#if defined(LSTM_FAST_HAVE_X86_KERNELS)
void cpuid(unsigned leaf, unsigned sub, unsigned regs[4]) {
#if defined(_MSC_VER)
    int r[4];
    __cpuidex(r, int(leaf), int(sub));
    for (int i = 0; i < 4; ++i) regs[i] = unsigned(r[i]);
#else
    __cpuid_count(leaf, sub, regs[0], regs[1], regs[2], regs[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
    return _xgetbv(0);
#else
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

// Linux hands out AMX's 8 KiB of tile state only to processes that ask (an AMX instruction
// without it faults): ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, once, for every thread of
// the process. Elsewhere no AMX path is offered.
#if defined(LSTM_FAST_HAVE_AMX)
bool request_tile_state() {
#if defined(__linux__) && defined(SYS_arch_prctl)
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}
#endif
Features detect() {
    Features f;
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    if (max_leaf < 7) return f;
    cpuid(1, 0, r);
    const bool osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1, fma = (r[2] >> 12) & 1;
    if (!osxsave || !avx) return f;
    const unsigned long long xcr0 = xgetbv0();
    const bool os_ymm = (xcr0 & 0x6) == 0x6;     // XMM and YMM state
    const bool os_zmm = (xcr0 & 0xe6) == 0xe6;   // plus opmask, ZMM_Hi256, Hi16_ZMM
    cpuid(7, 0, r);
    const unsigned max_sub7 = r[0];
    const bool avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1, avx512bw = (r[1] >> 30) & 1;
    f.avx2_fma = os_ymm && avx2 && fma;
    f.avx512 = f.avx2_fma && os_zmm && avx512f;
    f.avx512_bw = f.avx512 && avx512bw;
    f.avx512_vnni = f.avx512_bw && ((r[2] >> 11) & 1);
    if (max_sub7 >= 1) {
        cpuid(7, 1, r);
        f.avx512_bf16 = f.avx512 && avx512bw && ((r[0] >> 5) & 1);
    }
    cpuid(7, 0, r);
    const bool amx_tile = (r[3] >> 24) & 1, amx_bf16 = (r[3] >> 22) & 1, amx_int8 = (r[3] >> 25) & 1;
    const bool os_tiles = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA state
#if defined(LSTM_FAST_HAVE_AMX)
    const bool tiles = amx_tile && os_tiles && (amx_bf16 || amx_int8) && request_tile_state();
    f.amx_bf16 = tiles && f.avx512_bf16 && amx_bf16;
    f.amx_int8 = tiles && f.avx512_vnni && amx_int8;
#else
    (void)amx_tile, (void)amx_bf16, (void)amx_int8, (void)os_tiles;
#endif
    return f;
}
#else
Features detect() { return {}; }
#endif

struct Choice {
    Kernels kernels;
    CpuInfo info;
};
// One of the CPU's paths for a matmul mode (bf16 matmul, int8).
template <class Wt>
struct KernelPath {
    const char* name;  // a string literal, like Kernels::bf16dot_isa
    GemmKernels<Wt> kernels;
};
// The first of `paths` (best first), or the one the environment variable `var` names;
// their names go to `names`.
template <class Wt>
const KernelPath<Wt>& pick_path(const std::vector<KernelPath<Wt>>& paths, const char* var, const char* what,
                                const std::string& isa, std::vector<std::string>& names) {
    std::string list;
    for (const auto& p : paths) {
        names.push_back(p.name);
        list += (list.empty() ? "" : ", ") + std::string(p.name);
    }
    const char* env = std::getenv(var);
    if (!env || !*env) return paths.front();
    for (const auto& p : paths)
        if (p.name == std::string(env)) return p;
    throw std::runtime_error(std::string(var) + "=" + env + " is not a " + what + " path of this CPU (isa " + isa +
                             "); it has: " + list);
}

std::string reason(const Features& f, const std::string& isa);

Choice choose() {
    const Features f = detect();
    Choice c;
    c.info.compiled = {"generic"};
    c.info.supported = {"generic"};
#if defined(LSTM_FAST_HAVE_X86_KERNELS)
    c.info.compiled = {"avx512", "avx2", "generic"};
    c.info.supported.clear();
    if (f.avx512) c.info.supported.push_back("avx512");
    if (f.avx2_fma) c.info.supported.push_back("avx2");
    c.info.supported.push_back("generic");
#endif
    auto supported = [&](const std::string& isa) {
        for (const auto& s : c.info.supported)
            if (s == isa) return true;
        return false;
    };
    auto make = [&](const std::string& isa) {
#if defined(LSTM_FAST_HAVE_X86_KERNELS)
        if (isa == "avx512") return make_kernels_avx512();
        if (isa == "avx2") return make_kernels_avx2();
#else
        (void)isa;
#endif
        return make_kernels_generic();
    };

    const char* env = std::getenv("LSTM_FAST_ISA");
    std::string forced = env ? env : "";
    if (forced == "baseline") forced = "generic";
    if (!forced.empty()) {
        bool known = false;
        for (const auto& s : c.info.compiled) known = known || s == forced;
        if (!known) {
            std::string list;
            for (const auto& s : c.info.compiled) list += (list.empty() ? "" : ", ") + s;
            throw std::runtime_error("LSTM_FAST_ISA=" + forced + " is not a compiled path; this build has: " + list +
                                     " (or 'baseline' for generic)");
        }
        if (!supported(forced))
            throw std::runtime_error("LSTM_FAST_ISA=" + forced + " was requested but this CPU (or its OS) cannot run it");
        c.kernels = make(forced);
        c.info.isa = forced;
        c.info.reason = "forced by LSTM_FAST_ISA=" + std::string(env);
    } else {
        c.info.isa = c.info.supported.front();
        c.kernels = make(c.info.isa);
        c.info.reason = reason(f, c.info.isa);
    }
    const int64_t l1d = cache_bytes(kL1dName, int64_t(32) << 10), l2 = cache_bytes(kL2Name, int64_t(1) << 20);
#if defined(LSTM_FAST_HAVE_X86_KERNELS)
    // bf16 matmul: the best path the CPU has, or the one LSTM_FAST_BF16_MATMUL names.
    std::vector<KernelPath<bf16_t>> bf16s;
#if defined(LSTM_FAST_HAVE_AMX)
    if (c.info.isa == "avx512" && f.amx_bf16) bf16s.push_back({"amx_bf16", make_bf16dot_amx(make_bf16dot_avx512bf16())});
#endif
    if (c.info.isa == "avx512" && f.avx512_bf16) bf16s.push_back({"avx512_bf16", make_bf16dot_avx512bf16()});
    // int8: likewise, LSTM_FAST_INT8 (for the tests and A/B runs of every path on one machine).
    std::vector<KernelPath<QMatrix>> int8s;
#if defined(LSTM_FAST_HAVE_AMX)
    if (c.info.isa == "avx512" && f.amx_int8) int8s.push_back({"amx_int8", make_int8_amx(make_int8_avx512vnni())});
#endif
    if (c.info.isa == "avx512" && f.avx512_vnni) int8s.push_back({"avx512_vnni", make_int8_avx512vnni()});
    if (c.info.isa == "avx512" && f.avx512_bw) int8s.push_back({"avx512_bw", make_int8_avx512bw()});
#else
    std::vector<KernelPath<bf16_t>> bf16s;
    std::vector<KernelPath<QMatrix>> int8s;
#endif
    bf16s.push_back({c.kernels.bf16dot_isa, c.kernels.bf16dot});  // the ISA's own (emulated)
    int8s.push_back({c.kernels.int8_isa, c.kernels.int8});        // the ISA's own (avx2, or emulated)
    const KernelPath<bf16_t>& bf16 = pick_path(bf16s, "LSTM_FAST_BF16_MATMUL", "bf16 matmul", c.info.isa,
                                               c.info.bf16_matmul_supported);
    c.kernels.bf16dot = bf16.kernels;
    c.kernels.bf16dot_isa = bf16.name;
    const KernelPath<QMatrix>& int8 = pick_path(int8s, "LSTM_FAST_INT8", "int8", c.info.isa, c.info.int8_supported);
    c.kernels.int8 = int8.kernels;
    c.kernels.int8_isa = int8.name;
    c.info.l1d_bytes = l1d;
    c.info.l2_bytes = l2;
    c.info.l3_bytes = l3_bytes(int64_t(4) << 20);
    c.info.bf16_matmul = c.kernels.bf16dot_isa;
    c.info.int8_matmul = c.kernels.int8_isa;
    return c;
}

std::string reason(const Features& f, const std::string& isa) {
    (void)f;
    (void)isa;
#if defined(LSTM_FAST_HAVE_X86_KERNELS)
    if (isa == "avx512") return "CPU has AVX-512F and the OS saves ZMM state";
    if (isa == "avx2") return f.avx2_fma ? "CPU has AVX2+FMA but not usable AVX-512F" : "";
    return "CPU lacks AVX2+FMA (or the OS does not save YMM state)";
#else
    return "portable build (no x86-64 SIMD kernels on this architecture)";
#endif
}

const Choice& choice() {
    static const Choice c = choose();  // thread-safe, once
    return c;
}

}  // namespace

const Kernels& kernels() { return choice().kernels; }
const CpuInfo& cpu_info() { return choice().info; }

}  // namespace lstm_fast
