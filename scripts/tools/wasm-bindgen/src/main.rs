//! `wasm-bindgen`: the CLI of the `wasm-bindgen-cli` crate, unchanged; this package exists only
//! to build it from a lockfile of the project's own (see Cargo.toml).
use std::{env, process};

fn main() {
    env_logger::init();
    if let Err(e) = wasm_bindgen_cli::wasm_bindgen::run_cli_with_args(env::args_os()) {
        eprintln!("error: {e:?}");
        process::exit(1);
    }
}
