// What AMX tile operations cost on this core, for the question csrc/kernels_amx.cpp answers
// with kMinRows: should a one-row (batch 1) step run its products on the tiles or on
// vdpbf16ps? Times, in ns per operation (median of 7 runs, best in brackets):
//   tdp dependent      TDPBF16PS into one C tile (each waits for the one before)
//   tdp 4 chains       into C tiles 0-3 in turn (the step's order: 4 gates' sums)
//   B load             TILELOADD of a 16 x 64-byte weight tile with the step's stride
//                      (4 gates x 64 bytes), sweeping a buffer of the given size
//   B load + tdp       the step's inner loop: load a gate's tile, multiply, next gate
// with A and C tiles of R rows (argument 1, default 1; the B tiles always have 16).
// A vector read of the same bytes, for comparison: benchmarks/machine_peak.py.
// docs/performance.md (2026-12-03, "bf16 matmul at batch 1") cites it.
//
//   g++ -O2 -mamx-tile -mamx-bf16 -std=c++17 benchmarks/amx_tiles.cpp -o /tmp/amx_tiles
//   /tmp/amx_tiles 1 524288     # one row, a 512 KiB weight matrix (medium's W_hh in bf16)
//   /tmp/amx_tiles 16 524288    # the same with 16-row tiles
// Linux only (the tile state is requested with arch_prctl); needs a CPU with AMX-BF16.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct TileConfig {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
void report(const char* name, int64_t ops, const F& f) {
    std::vector<double> ns;
    for (int rep = 0; rep < 7; ++rep) {
        const double t0 = now();
        f();
        ns.push_back((now() - t0) / double(ops) * 1e9);
    }
    std::sort(ns.begin(), ns.end());
    std::printf("  %-16s %7.2f ns (%.2f)\n", name, ns[3], ns[0]);
}

}  // namespace

int main(int argc, char** argv) {
    const int rows = argc > 1 ? std::atoi(argv[1]) : 1;
    const int64_t bytes = argc > 2 ? std::atoll(argv[2]) : 512 << 10;
    if (rows < 1 || rows > 16 || bytes < 4096) {
        std::fprintf(stderr, "usage: amx_tiles [rows 1-16] [weight bytes >= 4096]\n");
        return 2;
    }
    constexpr long kXfeatureTileData = 18, kArchReqXcompPerm = 0x1023;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) != 0) {
        std::fprintf(stderr, "the OS did not grant the AMX tile state\n");
        return 1;
    }
    alignas(64) TileConfig cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; ++t) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = (t == 5 || t == 7) ? 16 : rows;  // 5, 7: B (weights); the rest A and C
    }
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));  // the whole 64 bytes (see csrc/kernels_amx.cpp)

    const int64_t groups = bytes / 4096;  // one 16-pair slice of a block: 4 gates x 16 x 64 bytes
    char* w = static_cast<char*>(std::aligned_alloc(4096, size_t(groups) * 4096));
    std::memset(w, 0x3f, size_t(groups) * 4096);  // bfloat16 ~0.75, finite
    alignas(64) static char a[16 * 64];
    std::memset(a, 0x3f, sizeof a);
    _tile_loadd(4, a, 64);
    _tile_loadd(6, a, 64);
    _tile_loadd(5, w, 256);
    _tile_loadd(7, w, 256);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);

    const int64_t n = 100000;
    std::printf("AMX, A and C tiles of %d rows, B sweeping %lld KiB\n", rows, static_cast<long long>(bytes >> 10));
    report("tdp dependent", n, [&] {
        for (int64_t i = 0; i < n; ++i) _tile_dpbf16ps(0, 4, 5);
    });
    report("tdp 4 chains", n, [&] {
        for (int64_t i = 0; i < n; i += 4) {
            _tile_dpbf16ps(0, 4, 5);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 6, 5);
            _tile_dpbf16ps(3, 6, 7);
        }
    });
    report("B load", n, [&] {
        int64_t g = 0;
        for (int64_t i = 0; i < n; i += 4, g = g + 1 == groups ? 0 : g + 1) {
            const char* p = w + g * 4096;
            _tile_loadd(5, p, 256);
            _tile_loadd(7, p + 64, 256);
            _tile_loadd(5, p + 128, 256);
            _tile_loadd(7, p + 192, 256);
        }
    });
    report("B load + tdp", n, [&] {
        int64_t g = 0;
        for (int64_t i = 0; i < n; i += 4, g = g + 1 == groups ? 0 : g + 1) {
            const char* p = w + g * 4096;
            _tile_loadd(5, p, 256);
            _tile_dpbf16ps(0, 4, 5);
            _tile_loadd(7, p + 64, 256);
            _tile_dpbf16ps(1, 4, 7);
            _tile_loadd(5, p + 128, 256);
            _tile_dpbf16ps(2, 6, 5);
            _tile_loadd(7, p + 192, 256);
            _tile_dpbf16ps(3, 6, 7);
        }
    });
    alignas(64) float z[16][16];
    _tile_stored(0, z, 64);
    _tile_release();
    std::printf("  (checksum %g)\n", double(z[0][0]));
    std::free(w);
    return 0;
}
