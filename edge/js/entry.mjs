// The Worker's JavaScript entry module (what worker-build would generate, kept by hand so the
// build needs only `wasm-bindgen --target web`): instantiate the Rust module once per isolate
// and hand every request to Rust's `#[event(fetch)]`. The Durable Object classes are the
// wasm-bindgen classes that `#[durable_object]` generates (constructor(state, env), fetch).
import wasmModule from "./index_bg.wasm";
import { initSync, fetch as rustFetch, RateLimiter, TagIndex } from "./index.js";

initSync({ module: wasmModule });

export { RateLimiter, TagIndex };

export default {
  fetch(request, env, ctx) {
    return rustFetch(request, env, ctx);
  },
};
