// The bfloat16 matmul and int8 kernels with AMX (AMX-TILE + AMX-BF16 / AMX-INT8: Sapphire
// Rapids and later), compiled with this file's flags (-mamx-tile -mamx-bf16 -mamx-int8,
// CMakeLists.txt). cpu.cpp installs them only where the CPU has AMX and Linux granted this
// process the tile state.
//
// Why: TDPBF16PS multiplies a 16-row × 32 tile of bfloat16 inputs by a 32 × 16 tile of
// bfloat16 weights into 16 × 16 float32 sums, 8,192 multiply-adds per instruction (TDPBUSD:
// 16 × 64 × 16 u8 × s8 into int32), far more per cycle than an AVX-512 FMA or vdpbf16ps.
// On batches and input projections (T·B rows) that is the difference between the
// AVX512_BF16 path being slower than our own float32 and 4-5x faster (docs/performance.md,
// the Sapphire Rapids section). Which products take the tiles: kMinRows below.
//
// No repacking. The bfloat16 weights are already stored in the pairs layout the B tile
// wants (lstm.h): gate q of block b holds, for pair p, 16 units × 2 consecutive k in 64
// contiguous bytes, the row p of a B tile. Consecutive pairs of one gate are NG·64 bytes
// apart, the tile load's stride. The rows the product multiplies (x, h or m) are rounded
// to bfloat16 into this thread's buffer, one constant stride, padded with zero rows to a
// whole tile (AmxRows); a row of C depends only on its row of A, so the padding rows are
// computed and dropped. (Fewer than 16 rows in all: A and C tiles of just those rows.)
//
// Tiles (bfloat16; int8 the same with quads): 0-3 the sums (C) of the four gates of one block
// for 16 rows (only 0 for the projection); 4 and 6 the inputs (A, 16 rows × 16 pairs), 5 and 7 a gate's weights (B, 16
// pairs × 16 units), each pair used alternately so a load need not wait for the product
// reading the tile before it. Every tile is full: the rows are padded with zero pairs to a
// whole number of 16-pair tiles (AmxRows), so the last tile's weight rows past K, which the
// load reads from the next block or the matrix's zero slack (packed_tile_slack_bytes, kernels.h),
// multiply zeros (the weights are finite: lstm.cpp rejects one that bfloat16 rounds to
// infinity). Numbers: products of bfloat16 are exact in float32, sums are float32 as in
// vdpbf16ps; only their order differs (what the bf16 matmul mode allows, lstm.h), and
// TDPBF16PS flushes denormals (|v| < 1.2e-38) to zero.
#include <immintrin.h>

#include "vec_avx512bf16.h"
#include "vec_avx512vnni.h"
#include "kernels_impl.h"

namespace lstm_fast {
namespace {

using Isa = Avx512Bf16;
using V = Vec<Isa>;
using T = V::T;
constexpr int W = V::W;            // 16 units per block = the columns of a C tile
constexpr int kTileRows = 16;      // rows of A and C
constexpr int kTilePairs = 16;     // pairs of k per A and B tile (64 bytes per row)
// Which products go to the tiles. A/B of the paths on Sapphire Rapids (ab_builds.py,
// matmul_dtype="bf16", 1 thread; "min N": tiles from N rows up), against vdpbf16ps: 2, 4 and
// 6 rows (B, 32, 128, 256) 1.72x, 2.66x, 3.37x; 8 and more 4.7-5x. One row (batch 1: A and
// C tiles of one row: each product reads a whole 1 KiB weight tile for 16 x 32 useful
// multiply-adds) stays on vdpbf16ps. On the 3.9 GHz host the tiles had won there by
// 1.09-1.20x (small, medium, bidir2, one step H=256; 0.97x on tiny and large). On a 2.3 GHz
// host of the same model (2026-12-03) the tile unit ran in phases: a weight-tile load and its
// product took ~10 ns in some seconds and 42-66 ns in most, with 1 row or 16 alike
// (benchmarks/amx_tiles.cpp), and one row lost 1.32-2.29x on the same shapes (ab_builds.py,
// 10 rounds). Sixteen rows still gain 3x and more in a slow phase; one row, whose vector path
// reads the same bytes at the L2's rate, does not: it takes vdpbf16ps everywhere.
constexpr int64_t kMinRows = 2;
// int8 input projections below 2^19 multiply-adds stay on vpdpbusd: (1,16,64,64) 1.06x
// (VNNI against the tiles), (4,32,64,64) and (2,16,64,64) unchanged; the bf16 one of
// (1,16,64,64) is 1.27x faster on the tiles, so it has no such floor.
constexpr int64_t kMinProjectionMacs8 = int64_t(1) << 19;

// Otherwise the AVX512_BF16 kernels of kernels_avx512bf16.cpp themselves (make_bf16dot_amx's
// argument), the very code the avx512_bf16 path runs. (Copies of them instantiated here ran
// the one-step call 6-8 % slower: code placement alone.)
GemmKernels<bf16_t> t_small;

// AMX's tile configuration (palette 1): rows and bytes per row of each of the 8 tiles.
struct alignas(64) TileConfig {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "ldtilecfg reads 64 bytes");

// Loads the configuration (8 tiles of 16 rows × 64 bytes) on entry and releases the tiles on
// exit, so a context switch does not save 8 KiB of idle tile data.
// With fewer than 16 rows in all, the A and C tiles hold just those (one row tile).
struct Tiles {
    explicit Tiles(int64_t nrows) {
        TileConfig c{};
        c.palette = 1;
        const uint8_t m = uint8_t(std::min<int64_t>(nrows, kTileRows));
        for (int t = 0; t < 8; ++t) {
            c.rows[t] = t == 5 || t == 7 ? kTileRows : m;  // B (5, 7): 16 pairs; A and C: the rows
            c.colsb[t] = 64;
        }
        // Not _tile_loadconfig: GCC 12's intrinsic declares a read of 8 bytes only, so the
        // stores to rows and colsb above may be dropped as dead (they were, once inlined
        // differently: ldtilecfg then loaded palette 1 with no tiles, and the first tile
        // instruction faulted). The operand here is the whole 64-byte configuration.
        __asm__ volatile("ldtilecfg %0" : : "m"(c));
    }
    ~Tiles() { _tile_release(); }
    Tiles(const Tiles&) = delete;
    Tiles& operator=(const Tiles&) = delete;
};

// Rows of A padded to a whole number of 16-row tiles.
constexpr int64_t padded_rows(int64_t n) { return (n + kTileRows - 1) / kTileRows * kTileRows; }

// `count` elements of `a` starting on a cache line: a tile row split over two lines loads
// slower (the misaligned weights of a first harness ran 2.5x slower, rows of A 15 %).
template <class E>
E* line_aligned(RawArray<E>& a, int64_t count) {
    E* v = a.reserve(count + 64 / int64_t(sizeof(E)));
    return v + (64 - reinterpret_cast<uintptr_t>(v) % 64) % 64 / sizeof(E);
}

// The rows a product multiplies, rounded to bfloat16 (as Bf16Rows does), at one stride,
// zero pairs up to whole tiles, then zero rows up to a whole tile.
struct AmxRows {
    RawArray<bf16_t> values;
    const bf16_t* v = nullptr;
    int64_t stride = 0;  // elements from one row to the next
    int64_t tiles = 0;   // 16-pair tiles per row

    void convert(const float* const* in, int64_t n, int64_t K) {
        tiles = ((K + 1) / 2 + kTilePairs - 1) / kTilePairs;
        const int64_t used = tiles * 2 * kTilePairs;
        stride = used + 32;  // then 64 bytes, so rows do not start a multiple of 4 KiB apart
        bf16_t* out = line_aligned(values, padded_rows(n) * stride);
        for (int64_t r = 0; r < n; ++r) {
            bf16_t* row = out + r * stride;
            Bf16Rows<Isa>::convert_row(in[r], K, row);  // K values (and the odd pair's zero)
            const int64_t done = (K + 1) / 2 * 2;
            std::memset(static_cast<void*>(row + done), 0, size_t(used - done) * sizeof(bf16_t));
        }
        std::memset(static_cast<void*>(out + n * stride), 0, size_t((padded_rows(n) - n) * stride) * sizeof(bf16_t));
        v = out;
    }
    const void* row(int64_t r) const { return v + r * stride; }
    int64_t bytes() const { return stride * int64_t(sizeof(bf16_t)); }
};
// Per thread: the inputs of the product, and a fused step's x beside its h.
thread_local AmxRows t_amx_rows[2];

// The products of 16-slot tile t (slots: bfloat16 pairs or int8 quads, 4 bytes per row each)
// into C tiles 0..NG-1: A (tile A_TILE) from the rows at `a`, `a_bytes` apart, and the NG gates
// of the packed block at `w` (slot p of gate q at (p·NG + q)·64 bytes; B alternates between
// tiles 5 and 7), between() after each; bfloat16 pairs by TDPBF16PS, u8 × s8 quads into
// int32 by TDPBUSD. GCC's tile intrinsics paste the tile number into their assembly text,
// so it must be a literal: a macro defines the function for each A tile.
#define LSTM_FAST_PRODUCT(c, a, b)     \
    do {                               \
        if constexpr (Int8)            \
            _tile_dpbusd(c, a, b);     \
        else                           \
            _tile_dpbf16ps(c, a, b);   \
    } while (0)
#define LSTM_FAST_TILE_PRODUCTS(A_TILE)                                                                    \
    template <bool Int8, int NG, class Between>                                                            \
    inline void tile_products_##A_TILE(const char* a, int64_t a_bytes, const char* w, int64_t t,           \
                                       const Between& between) {                                           \
        constexpr int64_t w_bytes = NG * 64; /* slot p to p + 1 of one gate */                             \
        const char* g = w + t * kTilePairs * NG * 64;                                                      \
        _tile_loadd(A_TILE, a + t * 64, a_bytes);                                                          \
        _tile_loadd(5, g, w_bytes);                                                                        \
        LSTM_FAST_PRODUCT(0, A_TILE, 5);                                                                   \
        between();                                                                                         \
        if constexpr (NG == 4) {                                                                           \
            _tile_loadd(7, g + 64, w_bytes);                                                               \
            LSTM_FAST_PRODUCT(1, A_TILE, 7);                                                               \
            between();                                                                                     \
            _tile_loadd(5, g + 128, w_bytes);                                                              \
            LSTM_FAST_PRODUCT(2, A_TILE, 5);                                                               \
            between();                                                                                     \
            _tile_loadd(7, g + 192, w_bytes);                                                              \
            LSTM_FAST_PRODUCT(3, A_TILE, 7);                                                               \
            between();                                                                                     \
        }                                                                                                  \
    }
LSTM_FAST_TILE_PRODUCTS(4)
LSTM_FAST_TILE_PRODUCTS(6)
#undef LSTM_FAST_TILE_PRODUCTS
#undef LSTM_FAST_PRODUCT

// C tiles 0..NG-1 += the 16 rows of A at `a` (`a_bytes` apart, `tiles` 16-slot tiles) times
// the NG gates of the packed block `w`, calling between() after each product (the step's
// pipeline, below). A product's latency is several times its issue interval, so
// consecutive products go to different gates' sums (4 independent chains), and A
// alternates between tiles 4 and 6.
struct Nothing {
    void operator()() const {}
};
template <int NG, bool Int8 = false, class Between = Nothing>
inline void add_products(int64_t tiles, int64_t a_bytes, const void* a, const void* w, const Between& between = {}) {
    const char* ab = static_cast<const char*>(a);
    const char* wb = static_cast<const char*>(w);
    int64_t t = 0;
    for (; t + 2 <= tiles; t += 2) {
        tile_products_4<Int8, NG>(ab, a_bytes, wb, t, between);
        tile_products_6<Int8, NG>(ab, a_bytes, wb, t + 1, between);
    }
    if (t < tiles) tile_products_4<Int8, NG>(ab, a_bytes, wb, t, between);
}
// The same with A from `rows` (AmxRows or AmxQRows) starting at row r0.
template <int NG, bool Int8, class Rows, class Between = Nothing>
inline void add_products(const Rows& rows, int64_t r0, const void* w, const Between& between = {}) {
    add_products<NG, Int8>(rows.tiles, rows.bytes(), rows.row(r0), w, between);
}

template <int NG>
inline void zero_sums() {
    _tile_zero(0);
    if constexpr (NG == 4) {
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
}

// The sums of C tiles 0..NG-1 into z[q][row][unit].
template <int NG>
inline void store_sums(float (&z)[4][kTileRows][W]) {
    constexpr int64_t bytes = W * int64_t(sizeof(float));
    _tile_stored(0, z[0], bytes);
    if constexpr (NG == 4) {
        _tile_stored(1, z[1], bytes);
        _tile_stored(2, z[2], bytes);
        _tile_stored(3, z[3], bytes);
    }
}

// For every (block, 16-row tile) of a product over `rows` (AmxRows or AmxQRows, nrows in all):
// the sums of the block's NG gates into z, then epilogue(b, r0, rows in the tile, z).
// w_of(b) is block b's packed weights.
template <int NG, bool Int8, class Rows, class WOf, class Epilogue>
void tiled_products(const Rows& rows, int64_t nrows, int64_t b0, int64_t b1, bool reverse, const WOf& w_of,
                    const Epilogue& epilogue) {
    const Tiles tiles(nrows);
    alignas(64) float z[4][kTileRows][W];
    for_blocks(b0, b1, reverse, [&](int64_t b) {
        const void* wb = w_of(b);
        for (int64_t r0 = 0; r0 < nrows; r0 += kTileRows) {
            zero_sums<NG>();
            add_products<NG, Int8>(rows, r0, wb);
            store_sums<NG>(z);
            epilogue(b, r0, std::min<int64_t>(kTileRows, nrows - r0), z);
        }
    });
}

// A step in units of (block, 16-row tile), software-pipelined: the cell updates of unit u - 1
// (its sums stored a unit earlier) are spread evenly between the products of unit u. The core
// retires in order and a product takes tens of cycles, so cell updates placed after all of a
// unit's products (or before them) mostly wait in the reorder buffer rather than run beside
// them; spread out, the tile unit and the vector units work at once. Measured with
// benchmarks/step_kernel.cpp -DSTEP_KERNEL_AMX on Sapphire Rapids, µs per step (R rows,
// Kx inputs fused, H = 256), all cells after the unit's products / spread after every 4
// products / after every product: R=32 Kx=128 52.8 / 35.3 / 33.5-34.7; R=32 Kx=0 38.6 /
// 39.4 / 28.1; R=64 Kx=300 158 / 78-84 / 84-87.
// products(u, b, r0, between) issues unit u's `products` tile products (block b, rows from
// r0), calling between() after each, and stores its sums (buffer u & 1); cell(u, b, row, r)
// updates row `row` (row r of the unit's tile) from them.
template <class Products, class Cell>
void pipelined_step(int64_t nrows, int64_t b0, int64_t b1, bool reverse, int64_t products_per_unit,
                    const Products& products, const Cell& cell) {
    const Tiles tiles(nrows);
    const int64_t row_tiles = (nrows + kTileRows - 1) / kTileRows, units = (b1 - b0) * row_tiles;
    auto block = [&](int64_t u) { return reverse ? b1 - 1 - u / row_tiles : b0 + u / row_tiles; };
    auto rows_of = [&](int64_t u) { return std::min<int64_t>(kTileRows, nrows - u % row_tiles * kTileRows); };
    for (int64_t u = 0; u <= units; ++u) {
        // Rows of unit u - 1 still to update, spread over this unit's products.
        const int64_t prev = u - 1, todo = prev >= 0 ? rows_of(prev) : 0;
        const int64_t pb = prev >= 0 ? block(prev) : 0, pr0 = prev >= 0 ? prev % row_tiles * kTileRows : 0;
        int64_t done = 0, credit = 0;  // rows due after k products: todo·k / products (no division)
        auto between = [&] {
            for (credit += todo; credit >= products_per_unit; credit -= products_per_unit, ++done)
                cell(prev, pb, pr0 + done, done);
        };
        if (u < units) products(u, block(u), u % row_tiles * kTileRows, between);
        for (; done < todo; ++done) cell(prev, pb, pr0 + done, done);
    }
}

// The cell update of one row of block b from the four gate pre-activations zq.
template <class Wt>
inline void update_cell(const StepArgs<Wt>& a, int64_t row, int64_t b, const T (&zq)[4]) {
    float* cp = a.c_rows[row] + b * W;
    T c = V::load(cp);
    const T h = lstm_cell<Isa>(zq[0], zq[1], zq[2], zq[3], c);
    V::store(cp, c);
    V::store(a.out_rows[row] + b * W, h);
}

void input_projection_amx(const float* const* x_rows, int64_t nrows, int64_t K, const bf16_t* w, const float* bias,
                          float* const* g_rows, int64_t b0, int64_t b1, bool reverse) {
    if (nrows < kMinRows)
        return t_small.input_projection(x_rows, nrows, K, w, bias, g_rows, b0, b1, reverse);
    AmxRows& x = t_amx_rows[0];
    x.convert(x_rows, nrows, K);
    tiled_products<4, false>(
        x, nrows, b0, b1, reverse, [&](int64_t b) { return block_of<Isa>(w, b, K, 4); },
        [&](int64_t b, int64_t r0, int64_t rows, const float (&z)[4][kTileRows][W]) {
            for (int64_t r = 0; r < rows; ++r)
                for (int q = 0; q < 4; ++q)
                    V::store(g_rows[r0 + r] + b * 4 * W + q * W,
                             V::add(V::load(bias + b * 4 * W + q * W), V::load(z[q][r])));
        });
}

void lstm_step_amx(const StepArgs<bf16_t>& args, int64_t b0, int64_t b1) {
    if (args.nrows < kMinRows) return t_small.lstm_step(args, b0, b1);
    AmxRows& h = t_amx_rows[0];
    AmxRows& x = t_amx_rows[1];
    h.convert(args.h_rows, args.nrows, args.K);
    // A one-step chunk (g_rows null) fuses the input projection: x's product joins the sums.
    const bool fused = !args.g_rows;
    if (fused) x.convert(args.x_rows, args.nrows, args.Kx);
    alignas(64) float z[2][4][kTileRows][W];  // the sums of the last two units
    pipelined_step(
        args.nrows, b0, b1, args.reverse, 4 * ((fused ? x.tiles : 0) + h.tiles),
        [&](int64_t u, int64_t b, int64_t r0, const auto& between) {
            zero_sums<4>();
            if (fused) add_products<4, false>(x, r0, block_of<Isa>(args.w_ih, b, args.Kx, 4), between);
            add_products<4, false>(h, r0, block_of<Isa>(args.w_hh, b, args.K, 4), between);
            store_sums<4>(z[u & 1]);
        },
        [&](int64_t u, int64_t b, int64_t row, int64_t r) {
            const float* g = fused ? args.bias + b * 4 * W : args.g_rows[row] + b * 4 * W;
            T zq[4];
            for (int q = 0; q < 4; ++q) zq[q] = V::add(V::load(g + q * W), V::load(z[u & 1][q][r]));
            update_cell(args, row, b, zq);
        });
}

void projection_amx(const float* const* m_rows, float* const* h_rows, int64_t nrows, int64_t K, const bf16_t* w_hr,
                    int64_t b0, int64_t b1, bool reverse) {
    if (nrows < kMinRows)
        return t_small.projection(m_rows, h_rows, nrows, K, w_hr, b0, b1, reverse);
    AmxRows& m = t_amx_rows[0];
    m.convert(m_rows, nrows, K);
    tiled_products<1, false>(
        m, nrows, b0, b1, reverse, [&](int64_t b) { return block_of<Isa>(w_hr, b, K, 1); },
        [&](int64_t b, int64_t r0, int64_t rows, const float (&z)[4][kTileRows][W]) {
            for (int64_t r = 0; r < rows; ++r) V::store(h_rows[r0 + r] + b * W, V::load(z[0][r]));
        });
}

// ---------------------------------------------------------------------------------
// int8 (AMX-INT8, TDPBUSD): the same tiles with u8 × s8 quads summed in int32. The int8
// weights' quad layout (kernels.h, QMatrix) is the B tile's too, as the bfloat16 pairs are.
// The rows are quantized as every int8 path does (quantize_row, the same u and s), padded
// past K's last quad with u = 0 (so the next block's weights read by the last tile add
// nothing), and every product and correction is the VNNI path's: exact integer dots, then
// out = fma(float(dot - 128·Σw), s · scale, out) on the same `out`, so the same floats.
using QIsa = Avx512Vnni;  // quantize_row's vector path (the same operations on every path)

struct AmxQRows {
    RawArray<uint8_t> values;
    RawArray<float> scales;
    const uint8_t* u = nullptr;
    const float* s = nullptr;
    int64_t stride = 0;  // bytes from one row to the next
    int64_t tiles = 0;   // 16-quad tiles per row

    void convert(const float* const* in, int64_t n, int64_t K) {
        const int64_t quads = (K + 3) / 4;
        tiles = (quads + kTilePairs - 1) / kTilePairs;
        const int64_t used = tiles * 64;
        stride = used + 64;
        uint8_t* out = line_aligned(values, padded_rows(n) * stride);
        float* sc = scales.reserve(padded_rows(n));
        for (int64_t r = 0; r < n; ++r) {
            uint8_t* row = out + r * stride;
            sc[r] = quantize_row<QIsa>(in[r], K, row);  // K values, then 128 (zero) to whole quads
            std::memset(row + quads * 4, 0, size_t(used - quads * 4));
        }
        std::memset(out + n * stride, 0, size_t((padded_rows(n) - n) * stride));
        for (int64_t r = n; r < padded_rows(n); ++r) sc[r] = 0.0f;
        u = out;
        s = sc;
    }
    const void* row(int64_t r) const { return u + r * stride; }
    int64_t bytes() const { return stride; }
};
thread_local AmxQRows t_amx_qrows[2];
GemmKernels<QMatrix> t_small8;

// out += float(C_int32 - 128·Σw) · (s · scale) for the 16 units of gate q (VNNI's epilogue).
inline T int8_term(const float* c, const QBlock& w, int q, float s, T out) {
    const __m512i dot = _mm512_sub_epi32(_mm512_loadu_si512(c), _mm512_loadu_si512(w.wsum128 + q * W));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(_mm512_set1_ps(s), _mm512_loadu_ps(w.scale + q * W)), out);
}

void input_projection_amx8(const float* const* x_rows, int64_t nrows, int64_t K, const QMatrix* w, const float* bias,
                           float* const* g_rows, int64_t b0, int64_t b1, bool reverse) {
    if (nrows < kMinRows || nrows * K * (b1 - b0) * 4 * W < kMinProjectionMacs8)
        return t_small8.input_projection(x_rows, nrows, K, w, bias, g_rows, b0, b1, reverse);
    AmxQRows& x = t_amx_qrows[0];
    x.convert(x_rows, nrows, K);
    tiled_products<4, true>(
        x, nrows, b0, b1, reverse, [&](int64_t b) { return block_of<Isa>(w, b, K, 4).w; },
        [&](int64_t b, int64_t r0, int64_t rows, const float (&z)[4][kTileRows][W]) {
            const QBlock wb = block_of<Isa>(w, b, K, 4);
            for (int64_t r = 0; r < rows; ++r)
                for (int q = 0; q < 4; ++q)
                    V::store(g_rows[r0 + r] + b * 4 * W + q * W,
                             int8_term(z[q][r], wb, q, x.s[r0 + r], V::load(bias + b * 4 * W + q * W)));
        });
}

// As lstm_step_amx; a fused step's two products, each with its own row scales and weight
// sums, go to separate sums.
void lstm_step_amx8(const StepArgs<QMatrix>& args, int64_t b0, int64_t b1) {
    if (args.nrows < kMinRows) return t_small8.lstm_step(args, b0, b1);
    AmxQRows& h = t_amx_qrows[0];
    AmxQRows& x = t_amx_qrows[1];
    h.convert(args.h_rows, args.nrows, args.K);
    const bool fused = !args.g_rows;
    if (fused) x.convert(args.x_rows, args.nrows, args.Kx);
    alignas(64) float zh[2][4][kTileRows][W], zx[2][4][kTileRows][W];
    pipelined_step(
        args.nrows, b0, b1, args.reverse, 4 * ((fused ? x.tiles : 0) + h.tiles),
        [&](int64_t u, int64_t b, int64_t r0, const auto& between) {
            if (fused) {
                zero_sums<4>();
                add_products<4, true>(x, r0, block_of<Isa>(args.w_ih, b, args.Kx, 4).w, between);
                store_sums<4>(zx[u & 1]);
            }
            zero_sums<4>();
            add_products<4, true>(h, r0, block_of<Isa>(args.w_hh, b, args.K, 4).w, between);
            store_sums<4>(zh[u & 1]);
        },
        [&](int64_t u, int64_t b, int64_t row, int64_t r) {
            const QBlock wh = block_of<Isa>(args.w_hh, b, args.K, 4);
            const QBlock wx = fused ? block_of<Isa>(args.w_ih, b, args.Kx, 4) : QBlock{};
            const float* g = fused ? args.bias + b * 4 * W : args.g_rows[row] + b * 4 * W;
            T zq[4];
            for (int q = 0; q < 4; ++q) {
                zq[q] = V::load(g + q * W);
                if (fused) zq[q] = int8_term(zx[u & 1][q][r], wx, q, x.s[row], zq[q]);
                zq[q] = int8_term(zh[u & 1][q][r], wh, q, h.s[row], zq[q]);
            }
            update_cell(args, row, b, zq);
        });
}

void projection_amx8(const float* const* m_rows, float* const* h_rows, int64_t nrows, int64_t K, const QMatrix* w_hr,
                     int64_t b0, int64_t b1, bool reverse) {
    if (nrows < kMinRows) return t_small8.projection(m_rows, h_rows, nrows, K, w_hr, b0, b1, reverse);
    AmxQRows& m = t_amx_qrows[0];
    m.convert(m_rows, nrows, K);
    tiled_products<1, true>(
        m, nrows, b0, b1, reverse, [&](int64_t b) { return block_of<Isa>(w_hr, b, K, 1).w; },
        [&](int64_t b, int64_t r0, int64_t rows, const float (&z)[4][kTileRows][W]) {
            const QBlock wb = block_of<Isa>(w_hr, b, K, 1);
            for (int64_t r = 0; r < rows; ++r)
                V::store(h_rows[r0 + r] + b * W, int8_term(z[0][r], wb, 0, m.s[r0 + r], V::set1(0.0f)));
        });
}

}  // namespace

GemmKernels<bf16_t> make_bf16dot_amx(const GemmKernels<bf16_t>& small) {
    t_small = small;
    return {&input_projection_amx, &lstm_step_amx, &projection_amx};
}

GemmKernels<QMatrix> make_int8_amx(const GemmKernels<QMatrix>& small) {
    t_small8 = small;
    return {&input_projection_amx8, &lstm_step_amx8, &projection_amx8};
}

}  // namespace lstm_fast
