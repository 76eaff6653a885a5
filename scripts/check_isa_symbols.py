#!/usr/bin/env python3
"""Check that no AVX2/AVX-512 code in lstm_fast._core can run unless the dispatcher chose it.

One wheel serves every x86-64 CPU: csrc/kernels_avx2.cpp, csrc/kernels_avx512.cpp,
csrc/kernels_avx512bf16.cpp, csrc/kernels_avx512vnni.cpp, csrc/kernels_avx512bw.cpp and
(where the compiler takes AMX flags) csrc/kernels_amx.cpp are compiled with ISA flags,
everything else for baseline x86-64 (SSE2), and csrc/cpu.cpp calls make_kernels_avx2/avx512
(and make_bf16dot_avx512bf16, make_int8_avx512vnni, make_int8_avx512bw, make_bf16dot_amx,
make_int8_amx) only when cpuid +
xgetbv say the CPU and the OS can run them. That holds only if the build keeps the ISA code
behind those five functions.
This script checks it on the compiled code (x86-64 ELF, GNU binutils' nm/objdump/readelf):

1. Each ISA object (kernels_avx2.cpp.o, kernels_avx512.cpp.o, kernels_avx512bf16.cpp.o,
   kernels_avx512vnni.cpp.o, kernels_avx512bw.cpp.o) defines exactly one symbol with external
   linkage, its entry (``lstm_fast::make_kernels_<isa>()``, ``make_bf16dot_avx512bf16()``,
   ``make_int8_avx512vnni()``, ``make_int8_avx512bw()``); everything else in
   it is local (anonymous namespace). A global or weak symbol there (an inline function,
   a template instantiation of std::) could be picked by the linker for calls from
   the portable code: the classic way AVX code leaks into the generic path.
2. No other object (lstm.cpp, cpu.cpp, parallel.cpp, kernels_generic.cpp, bindings.cpp)
   contains an instruction beyond baseline x86-64: no VEX/EVEX instruction, no
   ymm/zmm/opmask register, no SSE3/SSSE3/SSE4/POPCNT/LZCNT/BMI/MOVBE/AES/... . The
   offending functions are named. (Objects holding LTO bytecode, e.g. pybind11's
   bindings.cpp.o, have no machine code yet: step 3 covers them.)
3. The linked module (the build directory's, and the wheel's if given, which must be
   the same link: equal GNU build-id) contains exactly the beyond-baseline instructions
   of the ISA objects, mnemonic by mnemonic: nothing added at link time (LTO code
   generation, static runtime pieces), nothing merged in. If the module still has a
   symbol table, each function holding such instructions must also be a local symbol
   of an ISA object.
4. Sanity: the AVX2 object uses ymm and no zmm, the AVX-512 objects use zmm. This also
   shows the detector sees what it should.
5. The way in: only cpu.cpp.o (the cpuid/xgetbv dispatcher, whose choice tests/test_isa.py
   and build_wheel.sh --qemu exercise) references those entries.

Usage:
    python scripts/check_isa_symbols.py --build-dir build/cp311-cp311-linux_x86_64 \
        [--wheel dist/lstm_fast-...whl] [--verbose]

--build-dir is scikit-build-core's build directory for the wheel (pyproject.toml:
build-dir = "build/{wheel_tag}"), or its parent if --wheel is given (cibuildwheel's
repair step passes build/cibw and the unrepaired wheel). Linux x86-64 only. Exit status: 0 all checks passed (or not an x86-64
build: nothing to check), 1 a check failed, 2 usage or tool error.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ISA_OBJECTS = {"avx2": "kernels_avx2.cpp.o", "avx512": "kernels_avx512.cpp.o",
               "avx512bf16": "kernels_avx512bf16.cpp.o", "avx512vnni": "kernels_avx512vnni.cpp.o",
               "avx512bw": "kernels_avx512bw.cpp.o", "amx": "kernels_amx.cpp.o"}
# The entries each ISA object may export (the AMX object has one per opt-in).
ALLOWED_EXPORT = {"avx2": {"lstm_fast::make_kernels_avx2()"}, "avx512": {"lstm_fast::make_kernels_avx512()"},
                  "avx512bf16": {"lstm_fast::make_bf16dot_avx512bf16()"},
                  "avx512vnni": {"lstm_fast::make_int8_avx512vnni()"},
                  "avx512bw": {"lstm_fast::make_int8_avx512bw()"},
                  "amx": {"lstm_fast::make_bf16dot_amx(lstm_fast::GemmKernels<unsigned short> const&)",
                          "lstm_fast::make_int8_amx(lstm_fast::GemmKernels<lstm_fast::QMatrix> const&)"}}
# Built only where the compiler takes its flags (CMakeLists.txt); absent is fine.
OPTIONAL_ISA = {"amx"}
DISPATCHER_OBJECT = "cpu.cpp.o"

# Instruction prefixes objdump prints as separate words before the mnemonic.
PREFIXES = {"rep", "repz", "repe", "repnz", "repne", "lock", "data16", "data32", "addr32", "cs", "ds", "es",
            "fs", "gs", "ss", "notrack", "bnd", "xacquire", "xrelease", "rex", "rex.w", "rex.b", "rex.r",
            "rex.x", "rex.wb", "rex.wr", "rex.wx", "rex.rb", "rex.rx", "rex.xb", "rex.wrb", "rex.wrx",
            "rex.wxb", "rex.rxb", "rex.wrxb", "{vex}", "{vex3}", "{evex}"}

# Beyond-baseline instructions without a VEX/EVEX encoding (which all start with "v").
_BEYOND_SSE2_MNEMONICS = """
addsubps addsubpd haddps haddpd hsubps hsubpd lddqu movddup movshdup movsldup fisttp monitor mwait
pabsb pabsw pabsd palignr phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw pshufb
psignb psignw psignd
blendpd blendps blendvpd blendvps dppd dpps extractps insertps movntdqa mpsadbw packusdw pblendvb
pblendw pcmpeqq pextrb pextrd pextrq phminposuw pinsrb pinsrd pinsrq pmaxsb pmaxsd pmaxud pmaxuw
pminsb pminsd pminud pminuw pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq pmovsxdq pmovzxbw pmovzxbd
pmovzxbq pmovzxwd pmovzxwq pmovzxdq pmuldq pmulld ptest roundps roundpd roundss roundsd
pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq crc32
popcnt lzcnt andn bextr blsi blsmsk blsr bzhi mulx pdep pext rorx sarx shlx shrx movbe adcx adox
aesenc aesenclast aesdec aesdeclast aesimc aeskeygenassist pclmulqdq
sha1rnds4 sha1nexte sha1msg1 sha1msg2 sha256rnds2 sha256msg1 sha256msg2
"""
BEYOND_SSE2 = frozenset(_BEYOND_SSE2_MNEMONICS.split())
# Not flagged: "tzcnt" is how objdump shows `rep bsf`, which GCC emits for ctz at generic
# tuning and which runs as bsf on CPUs without BMI1; "xgetbv"/"cpuid" are cpu.cpp's
# detection, executed only after cpuid reports OSXSAVE; "verr"/"verw" are not vector ops.
NOT_VECTOR_V = {"verr", "verw"}
WIDE_REG = re.compile(r"%(?:[yz]mm\d+|k[0-7])\b")
FUNC_HEADER = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN_LINE = re.compile(r"^\s*[0-9a-f]+:\t(.*)$")


class Failure(Exception):
    pass


def run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit(f"check_isa_symbols: {cmd[0]} not found (install GNU binutils)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"check_isa_symbols: {' '.join(cmd)} failed:\n{e.stderr}")


def beyond_baseline(insn: str) -> str | None:
    """The mnemonic if this AT&T-syntax instruction needs more than baseline x86-64, else None."""
    words = insn.split()
    while words and words[0].lower() in PREFIXES:
        words = words[1:]
    if not words:
        return None
    mnem = words[0].lower()
    if mnem.startswith("v") and mnem not in NOT_VECTOR_V:
        return mnem
    base = mnem.rstrip("bwlq") if mnem.startswith("crc32") else mnem
    if base in BEYOND_SSE2 or (mnem[:-1] in BEYOND_SSE2 and mnem[-1] in "bwlq"):
        return mnem
    if WIDE_REG.search(insn):
        return mnem
    return None


def disassemble(path: Path) -> dict[str, collections.Counter]:
    """{function (demangled): Counter of beyond-baseline mnemonics} for every function that has any.

    The key "" collects instructions outside any symbol (a stripped module is one blob).
    """
    found: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    func = ""
    for line in run(["objdump", "-d", "-C", "--no-show-raw-insn", str(path)]).splitlines():
        m = FUNC_HEADER.match(line)
        if m:
            func = m.group(1)
            continue
        m = INSN_LINE.match(line)
        if m:
            mnem = beyond_baseline(m.group(1))
            if mnem:
                found[func][mnem] += 1
    return dict(found)


def defined_symbols(path: Path) -> list[tuple[str, str]]:
    """[(demangled name, nm type letter)] of the defined symbols of an object or module."""
    return parse_nm_posix(run(["nm", "-C", "--defined-only", "-P", str(path)]))


def parse_nm_posix(out: str) -> list[tuple[str, str]]:
    """nm -P lines are "name type value [size]"; demangled names contain spaces."""
    hexnum = re.compile(r"^[0-9a-fA-F]+$")
    syms = []
    for line in out.splitlines():
        for n_fields in (4, 3):  # with the size field, then without
            parts = line.rsplit(" ", n_fields - 1)
            if (len(parts) == n_fields and len(parts[1]) == 1 and parts[1].isalpha()
                    and all(hexnum.match(p) for p in parts[2:])):
                syms.append((parts[0], parts[1]))
                break
    return syms


def undefined_symbols(path: Path) -> set[str]:
    """Demangled names an object references but does not define (nm reads LTO objects too)."""
    return {line.split(" U ", 1)[-1].strip() if " U " in line else line.strip().removeprefix("U ").strip()
            for line in run(["nm", "-u", "-C", str(path)]).splitlines() if line.strip()}


def is_global(kind: str) -> bool:
    return kind.isupper() or kind in "uvw"


def build_id(path: Path) -> str | None:
    m = re.search(r"Build ID: ([0-9a-f]+)", run(["readelf", "-n", str(path)]))
    return m.group(1) if m else None


def has_symtab(path: Path) -> bool:
    """False for a stripped module (objdump then labels code with the nearest dynamic symbol)."""
    return re.search(r"\]\s+\.symtab\s", run(["readelf", "-S", "-W", str(path)])) is not None


def elf_machine(path: Path) -> str:
    m = re.search(r"Machine:\s+(.*)", run(["readelf", "-h", str(path)]))
    return m.group(1).strip() if m else "?"


def has_lto_bytecode(path: Path) -> bool:
    return ".gnu.lto_" in run(["objdump", "-h", str(path)])


def total(counters) -> collections.Counter:
    t: collections.Counter = collections.Counter()
    for c in counters:
        t.update(c)
    return t


def fmt_counter(c: collections.Counter, limit: int = 8) -> str:
    items = c.most_common()
    s = ", ".join(f"{k} x{v}" for k, v in items[:limit])
    return s + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def resolve_build_dir(build_dir: Path, wheel: Path | None) -> Path:
    """build_dir itself, or its subdirectory named after the wheel's tag (build/cibw/<tag>)."""
    if wheel is not None and not list(build_dir.glob("_core*.so")):
        py, abi, plat = wheel.name[: -len(".whl")].split("-")[-3:]  # e.g. cp311, cp311, linux_x86_64
        arch = re.search(r"(x86_64|aarch64|i686|ppc64le|s390x|armv7l|riscv64)$", plat.split(".")[0])
        # a repaired wheel (manylinux_2_28_x86_64) was built as linux_x86_64
        for tag in (f"{py}-{abi}-{plat}", f"{py}-{abi}-linux_{arch.group(1)}" if arch else ""):
            if tag and (build_dir / tag).is_dir():
                return build_dir / tag
    return build_dir


def check(build_dir: Path, wheel: Path | None, verbose: bool) -> list[str]:
    errors: list[str] = []
    build_dir = resolve_build_dir(build_dir, wheel)
    objects = sorted(build_dir.rglob("*.o"))
    modules = sorted(p for p in build_dir.glob("_core*.so"))
    if not objects or not modules:
        raise Failure(f"no object files or _core*.so under {build_dir}: build the wheel first")
    if len(modules) > 1:
        raise Failure(f"several modules in {build_dir}: {[m.name for m in modules]}")
    module = modules[0]

    machine = elf_machine(module)
    isa_objs = {isa: [o for o in objects if o.name == name] for isa, name in ISA_OBJECTS.items()}
    if "X86-64" not in machine:
        if any(isa_objs.values()):
            errors.append(f"{machine} module but x86-64 ISA objects were built: {isa_objs}")
        print(f"module is {machine}: no x86-64 ISA kernels, nothing to check")
        return errors
    for isa in [i for i in OPTIONAL_ISA if not isa_objs.get(i)]:
        print(f"{ISA_OBJECTS[isa]} not built (optional): not checked")
        del isa_objs[isa]
    for isa, objs in isa_objs.items():
        if len(objs) != 1:
            raise Failure(f"expected one {ISA_OBJECTS[isa]} under {build_dir}, found {len(objs)}")

    # 1. ISA objects: one external symbol each.
    isa_local_names: set[str] = set()
    isa_counts = {}
    for isa, (obj,) in isa_objs.items():
        syms = defined_symbols(obj)
        # DW.ref.__gxx_personality_v0 is data, not code: the weak pointer to the C++ unwinder's
        # personality routine that objects with exception cleanups share (one copy is as good
        # as another). Every other external symbol must be an entry.
        exported = sorted({name for name, kind in syms if is_global(kind) and not name.startswith("DW.ref.")})
        if exported != sorted(ALLOWED_EXPORT[isa]):
            extra = [s for s in exported if s not in ALLOWED_EXPORT[isa]]
            errors.append(f"{obj.name}: symbols with external linkage other than {sorted(ALLOWED_EXPORT[isa])} "
                          f"(must be in the anonymous namespace): {extra or 'and the allowed one is missing'}")
        isa_local_names |= {name for name, kind in syms if not is_global(kind)}
        found = disassemble(obj)
        isa_counts[isa] = total(found.values())
        print(f"[1] {obj.name}: exports {exported}; {len(syms) - len(exported)} local symbols; "
              f"{sum(isa_counts[isa].values())} beyond-baseline instructions in {len(found)} functions")

    # 2. every other object is baseline x86-64.
    other_names: set[str] = set()
    for obj in objects:
        if obj.name in ISA_OBJECTS.values():
            continue
        other_names |= {name for name, _ in defined_symbols(obj)}
        if has_lto_bytecode(obj) and not run(["objdump", "-d", str(obj)]).count(":\t"):
            print(f"[2] {obj.name}: LTO bytecode only, checked in the linked module (step 3)")
            continue
        found = disassemble(obj)
        if found:
            for func, c in sorted(found.items()):
                errors.append(f"{obj.name}: {func or '<no symbol>'} is not baseline x86-64: {fmt_counter(c)}")
        else:
            print(f"[2] {obj.name}: baseline x86-64 only")

    # 3. the linked module(s).
    expected = total(isa_counts.values())
    targets = [("build", module)]
    tmp = None
    if wheel is not None:
        tmp = tempfile.TemporaryDirectory()
        with zipfile.ZipFile(wheel) as z:
            names = [n for n in z.namelist() if re.search(r"(^|/)_core[^/]*\.so$", n)]
            if len(names) != 1:
                raise Failure(f"{wheel.name}: expected one _core*.so, found {names}")
            targets.append(("wheel", Path(z.extract(names[0], tmp.name))))
    try:
        ids = {label: build_id(path) for label, path in targets}
        if len(targets) == 2 and (ids["build"] is None or ids["build"] != ids["wheel"]):
            errors.append(f"the wheel's module (build-id {ids['wheel']}) is not the one in {build_dir} "
                          f"(build-id {ids['build']}): rebuild, or pass the build directory of this wheel")
        for label, path in targets:
            found = disassemble(path)
            got = total(found.values())
            if got != expected:
                diff_more, diff_less = got - expected, expected - got
                errors.append(f"{label} module {path.name}: beyond-baseline instructions differ from the ISA "
                              f"objects' (extra: {fmt_counter(diff_more) or 'none'}; "
                              f"missing: {fmt_counter(diff_less) or 'none'})")
            stripped = not has_symtab(path)
            if not stripped:
                for func in found:
                    if func not in isa_local_names or func in other_names:
                        errors.append(f"{label} module: {func} holds beyond-baseline code but is not an "
                                      f"internal function of an ISA object")
            print(f"[3] {label} module {path.name} (build-id {ids[label]}): {sum(got.values())} beyond-baseline "
                  f"instructions, {'equal to' if got == expected else 'NOT equal to'} the ISA objects' "
                  f"{sum(expected.values())}" + (" (stripped: counted as a whole)" if stripped else ""))
            if verbose:
                print(f"    {fmt_counter(got, 40)}")
        exports = [name for name, kind in defined_symbols_dynamic(module)
                   if any(name in e for e in ALLOWED_EXPORT.values())]
        if exports and verbose:
            print(f"note: the module's dynamic symbol table exports {exports} (default visibility of "
                  f"lstm_fast_core); reachable only by name, never called except by cpu.cpp")
    finally:
        if tmp is not None:
            tmp.cleanup()

    # 4. sanity of the ISA objects (and of the detector).
    regs = {isa: set(WIDE_REG.findall(run(["objdump", "-d", "--no-show-raw-insn", str(o)]))) for isa, (o,) in
            isa_objs.items()}
    if not any(r.startswith("%ymm") for r in regs["avx2"]) or any(r.startswith("%zmm") for r in regs["avx2"]):
        errors.append("kernels_avx2.cpp.o should use ymm registers and no zmm: its compile flags are wrong")
    for isa in [i for i in ("avx512", "avx512bf16", "avx512vnni", "avx512bw", "amx") if i in isa_objs]:
        if not any(r.startswith("%zmm") for r in regs[isa]):
            errors.append(f"{ISA_OBJECTS[isa]} uses no zmm register: its compile flags are wrong")
    print(f"[4] register sanity: avx2 uses {sorted({r[:4] for r in regs['avx2']})}, "
          f"avx512 uses {sorted({r[:4] for r in regs['avx512']})}")

    # 5. the way in: only the dispatcher (cpu.cpp) calls the ISA entries.
    entry = set().union(*(ALLOWED_EXPORT[isa] for isa in isa_objs))
    callers = sorted(o.name for o in objects if entry & undefined_symbols(o))
    if callers != [DISPATCHER_OBJECT]:
        errors.append(f"the ISA entries must be referenced by {DISPATCHER_OBJECT} only, not {callers}")
    else:
        print(f"[5] {sorted(entry)} are referenced only by {DISPATCHER_OBJECT} (the cpuid/xgetbv dispatcher)")

    return errors


def defined_symbols_dynamic(path: Path) -> list[tuple[str, str]]:
    return parse_nm_posix(run(["nm", "-D", "-C", "--defined-only", "-P", str(path)]))


# A tree with the faults the checks exist for: an AVX2 object exporting a helper (the
# linker may use it from portable code), a portable object compiled with AVX2 flags (so
# extra AVX code in the linked module), and a call into the AVX2 table that bypasses the
# dispatcher.
SELF_TEST_SOURCES = {
    "kernels_avx2.cpp": ("-mavx2 -mfma", """
        #include <immintrin.h>
        __attribute__((noinline)) float helper(const float* x) {
            __m256 v = _mm256_loadu_ps(x); v = _mm256_add_ps(v, v); return _mm256_cvtss_f32(v); }
        namespace { float k(const float* x) { return helper(x) * 2; } }
        namespace lstm_fast { float (*make_kernels_avx2())(const float*) { return k; } }"""),
    "kernels_avx512.cpp": ("-mavx512f", """
        #include <immintrin.h>
        namespace { float k(const float* x) { return _mm512_reduce_add_ps(_mm512_loadu_ps(x)); } }
        namespace lstm_fast { float (*make_kernels_avx512())(const float*) { return k; } }"""),
    "kernels_avx512bf16.cpp": ("-mavx512f -mavx512bw -mavx512bf16", """
        #include <immintrin.h>
        namespace { float k(const float* x) {
            __m512 v = _mm512_loadu_ps(x);
            __m512bh p = _mm512_cvtne2ps_pbh(v, v);
            return _mm512_reduce_add_ps(_mm512_dpbf16_ps(v, p, p)); } }
        namespace lstm_fast { float (*make_bf16dot_avx512bf16())(const float*) { return k; } }"""),
    "kernels_avx512vnni.cpp": ("-mavx512f -mavx512bw -mavx512vnni", """
        #include <immintrin.h>
        namespace { float k(const float* x) {
            __m512i v = _mm512_loadu_si512(x);
            return float(_mm512_reduce_add_epi32(_mm512_dpbusd_epi32(v, v, v))); } }
        namespace lstm_fast { float (*make_int8_avx512vnni())(const float*) { return k; } }"""),
    "kernels_avx512bw.cpp": ("-mavx512f -mavx512bw", """
        #include <immintrin.h>
        namespace { float k(const float* x) {
            __m512i v = _mm512_loadu_si512(x);
            return float(_mm512_reduce_add_epi32(_mm512_madd_epi16(_mm512_maddubs_epi16(v, v), v))); } }
        namespace lstm_fast { float (*make_int8_avx512bw())(const float*) { return k; } }"""),
    "cpu.cpp": ("-mavx2 -ffast-math", """
        float dot(const float* x, int n) { float s = 0; for (int i = 0; i < n; ++i) s += x[i] * x[i]; return s; }"""),
    "lstm.cpp": ("", """
        namespace lstm_fast { float (*make_kernels_avx2())(const float*); }
        float bypass(const float* x) { return lstm_fast::make_kernels_avx2()(x); }"""),
}


def self_test() -> None:
    cxx = shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        sys.exit("check_isa_symbols --self-test: no C++ compiler")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        objdir = root / "CMakeFiles" / "t.dir"
        objdir.mkdir(parents=True)
        for name, (flags, code) in SELF_TEST_SOURCES.items():
            (root / name).write_text(code)
            subprocess.run([cxx, "-O2", "-fPIC", *flags.split(), "-c", str(root / name), "-o",
                            str(objdir / f"{name}.o")], check=True)
        subprocess.run([cxx, "-shared", "-o", str(root / "_core.so"), *map(str, sorted(objdir.glob("*.o")))],
                       check=True)
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            errors = check(root, None, False)
    expected = ["kernels_avx2.cpp.o: symbols with external linkage", "cpu.cpp.o: dot(float const*, int) is not",
                "beyond-baseline instructions differ", "helper(float const*) holds beyond-baseline code",
                "must be referenced by cpu.cpp.o only, not ['lstm.cpp.o']"]
    missed = [e for e in expected if not any(e in err for err in errors)]
    if missed:
        sys.exit(f"check_isa_symbols --self-test: the checks missed {missed} (got {errors})")
    print(f"self-test: a deliberately broken tree fails all {len(expected)} ways, as it should")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", type=Path, required=True,
                    help="scikit-build-core build directory of the wheel (build/<wheel_tag>), or its parent "
                         "when --wheel is given (the wheel's tag picks the subdirectory)")
    ap.add_argument("--wheel", type=Path, help="also check this wheel's _core module (same link as the build dir)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--self-test", action="store_true",
                    help="first compile a small broken tree (needs c++) and require that every check catches it")
    args = ap.parse_args(argv)
    for tool in ("objdump", "nm", "readelf"):
        if shutil.which(tool) is None:
            print(f"check_isa_symbols: {tool} not found (install GNU binutils)", file=sys.stderr)
            return 2
    if args.self_test:
        self_test()
    try:
        errors = check(args.build_dir, args.wheel, args.verbose)
    except Failure as e:
        print(f"check_isa_symbols: {e}", file=sys.stderr)
        return 2
    if errors:
        print("\nISA CHECK FAILED: AVX2/AVX-512 code could run outside the dispatcher's choice:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print("ISA check passed: AVX2/AVX-512 code is only reachable through the dispatcher's entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
