//! Nothing to link: `seccode-benches` holds only seccode's benchmarks
//! (`benches/*.rs`, run with `cargo bench -p seccode-benches`) so that their
//! dependencies (criterion and what it brings) stay out of the library's
//! dev-dependencies.
#![forbid(unsafe_code)]
