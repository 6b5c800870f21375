//! Builds the C peers of the benchmarks (see benches/README.md):
//!
//! - `c/kernel_sim.c`, the ring benchmark's simulated kernel side (cfg
//!   `kernel_sim_c`), and `c/ring_libxdp.c`, libxdp's inline ring functions
//!   over memory the benchmark gives (cfg `libxdp_ring`), into a static
//!   library the ring benchmark calls;
//! - `c/gen.c`, the AF_PACKET traffic generator, and `c/xdp_reader.c`, the
//!   libxdp-based AF_XDP reader, as standalone programs in `OUT_DIR`, whose
//!   paths reach the end-to-end benchmark as `AFXDP_BENCH_GEN` and
//!   `AFXDP_BENCH_XDP_READER` (empty when they could not be built).
//!
//! Nothing here fails the build: a missing header or library is a cargo
//! warning, and the benchmark prints a SKIPPED line for that peer.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(libxdp_ring, kernel_sim_c)");
    for f in [
        "build.rs",
        "c/bench_ring.h",
        "c/kernel_sim.c",
        "c/ring_libxdp.c",
        "c/gen.c",
        "c/xdp_reader.c",
    ] {
        println!("cargo::rerun-if-changed={f}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // The ring benchmark's C side: the shared kernel side, plus the libxdp
    // peer when <xdp/xsk.h> is there.
    let ring = |files: &[&str]| {
        let mut b = cc::Build::new();
        b.files(files).include("c").warnings(true);
        b.try_compile("afxdp_bench_ring")
    };
    match ring(&["c/kernel_sim.c", "c/ring_libxdp.c"]) {
        Ok(()) => {
            println!("cargo::rustc-cfg=kernel_sim_c");
            println!("cargo::rustc-cfg=libxdp_ring");
        }
        Err(e) => {
            println!(
                "cargo::warning=libxdp ring peer not built (is libxdp-dev installed? <xdp/xsk.h>): {e}"
            );
            match ring(&["c/kernel_sim.c"]) {
                Ok(()) => println!("cargo::rustc-cfg=kernel_sim_c"),
                Err(e) => println!(
                    "cargo::warning=c/kernel_sim.c not built (no C compiler?), the ring benchmark uses its Rust copy: {e}"
                ),
            }
        }
    }

    // The standalone programs: built with the same C compiler, for the host.
    let compiler = cc::Build::new().get_compiler();
    let gen = program(
        compiler.path(),
        "c/gen.c",
        &out.join("afxdp-bench-gen"),
        &[],
    );
    let reader = program(
        compiler.path(),
        "c/xdp_reader.c",
        &out.join("afxdp-bench-xdp-reader"),
        &["-lxdp", "-lbpf"],
    );
    println!("cargo::rustc-env=AFXDP_BENCH_GEN={gen}");
    println!("cargo::rustc-env=AFXDP_BENCH_XDP_READER={reader}");
}

/// Compiles `src` into the program `dst`; its path, or "" with a warning.
fn program(cc: &Path, src: &str, dst: &Path, libs: &[&str]) -> String {
    let result = Command::new(cc)
        .args(["-O2", "-g", "-Wall", "-Wextra", "-o"])
        .arg(dst)
        .arg(src)
        .args(libs)
        .output();
    match result {
        Ok(o) if o.status.success() => dst.display().to_string(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err.lines().find(|l| l.contains("error")).unwrap_or("");
            println!("cargo::warning={src} not built ({}): {first}", o.status);
            String::new()
        }
        Err(e) => {
            println!(
                "cargo::warning={src} not built: cannot run {}: {e}",
                cc.display()
            );
            String::new()
        }
    }
}
