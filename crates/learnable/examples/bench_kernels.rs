//! Kernel A/B on the shapes of the benchmark MLP (batch 128 training, batch 1024 inference):
//! the `gemm` crate (the AVX2 path's products) against this crate's AVX-512 kernels, for the
//! forward (`x·Wᵀ`, fused kernel with and without packing the weight per call), `dx = dy·W` and
//! `dW = dyᵀ·x`. Each figure is the minimum over 3 × 30 interleaved repetitions, which shared,
//! loaded machines disturb least. Threads: RAYON_NUM_THREADS. Needs AVX-512F (panics without).
use learnable::kernels::fused_linear::{Epilogue, PackedLinear};
use learnable::kernels::isa::Isa;
use learnable::kernels::matmul::{Mat, gemm_with};
use learnable::{Rng, Tensor};
use std::time::Instant;

fn min_time(f: &mut dyn FnMut(), reps: usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let mut rng = Rng::new(1, "ab");
    for &(n, inp, out) in &[
        (128usize, 784usize, 256usize),
        (128, 256, 256),
        (128, 256, 10),
        (1024, 784, 256),
    ] {
        let x = Tensor::uniform(&[n, inp], -1.0, 1.0, &mut rng);
        let w = Tensor::uniform(&[out, inp], -1.0, 1.0, &mut rng);
        let gy = Tensor::uniform(&[n, out], -1.0, 1.0, &mut rng);
        let mut y = vec![0.0f32; n * out];
        let mut gx = vec![0.0f32; n * inp];
        let mut gw = vec![0.0f32; out * inp];
        let flops = 2.0 * (n * inp * out) as f64 / 1e9;
        let mut res = vec![];
        for _round in 0..3 {
            let t_gemm_fwd = min_time(
                &mut || {
                    gemm_with(
                        Isa::Avx2,
                        &mut y,
                        Mat::new(x.data(), n, inp),
                        Mat::t(w.data(), out, inp),
                        false,
                    )
                },
                30,
            );
            let t_fused_pack = min_time(
                &mut || {
                    let p = PackedLinear::with_isa(Isa::Avx512, w.data(), None, out, inp).unwrap();
                    p.forward(x.data(), &mut y, n, Epilogue::Identity)
                },
                30,
            );
            let p = PackedLinear::with_isa(Isa::Avx512, w.data(), None, out, inp).unwrap();
            let t_fused = min_time(
                &mut || p.forward(x.data(), &mut y, n, Epilogue::Identity),
                30,
            );
            let t_pack = min_time(
                &mut || {
                    std::hint::black_box(PackedLinear::with_isa(
                        Isa::Avx512,
                        w.data(),
                        None,
                        out,
                        inp,
                    ));
                },
                30,
            );
            let p2 = PackedLinear::with_isa(Isa::Avx2, w.data(), None, out, inp).unwrap();
            let t_fused2 = min_time(
                &mut || p2.forward(x.data(), &mut y, n, Epilogue::Identity),
                30,
            );
            let t_dx_g = min_time(
                &mut || {
                    gemm_with(
                        Isa::Avx2,
                        &mut gx,
                        Mat::new(gy.data(), n, out),
                        Mat::new(w.data(), out, inp),
                        true,
                    )
                },
                30,
            );
            let t_dx_5 = min_time(
                &mut || {
                    gemm_with(
                        Isa::Avx512,
                        &mut gx,
                        Mat::new(gy.data(), n, out),
                        Mat::new(w.data(), out, inp),
                        true,
                    )
                },
                30,
            );
            let t_dw_g = min_time(
                &mut || {
                    gemm_with(
                        Isa::Avx2,
                        &mut gw,
                        Mat::t(gy.data(), n, out),
                        Mat::new(x.data(), n, inp),
                        true,
                    )
                },
                30,
            );
            let t_dw_5 = min_time(
                &mut || {
                    gemm_with(
                        Isa::Avx512,
                        &mut gw,
                        Mat::t(gy.data(), n, out),
                        Mat::new(x.data(), n, inp),
                        true,
                    )
                },
                30,
            );
            res.push([
                t_gemm_fwd,
                t_fused_pack,
                t_fused,
                t_pack,
                t_fused2,
                t_dx_g,
                t_dx_5,
                t_dw_g,
                t_dw_5,
            ]);
        }
        let names = [
            "fwd gemm",
            "fwd512+pack",
            "fwd512",
            "pack",
            "fwd avx2",
            "dx gemm",
            "dx 512",
            "dW gemm",
            "dW 512",
        ];
        print!("{n}x{inp}->{out} threads {}:", rayon::current_num_threads());
        for (i, nm) in names.iter().enumerate() {
            let t = res.iter().map(|r| r[i]).fold(f64::MAX, f64::min);
            if *nm == "pack" {
                print!(" | {nm} {:.1}us", t * 1e6);
            } else {
                print!(" | {nm} {:.1}us {:.0}GF", t * 1e6, flops / t);
            }
        }
        println!();
    }
}
