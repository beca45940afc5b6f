//! Rate limiting at the edge: common's GCRA, with each client's state in a Durable Object.
//!
//! Why a Durable Object: Workers run in many isolates at once, so a counter in memory would
//! give each isolate its own budget. A Durable Object is one single-threaded instance per name
//! worldwide, so the GCRA state (one TAT in microseconds) is read and written by exactly one
//! thread, and the limit is exact. One object per (route class, client) keeps objects
//! independent: a hot client never queues behind another. The object decides with
//! [`vitrine_common::rate_limit::check`] — the same function the origin runs against Redis — and
//! the Worker turns the decision into 429 + `Retry-After` + `RateLimit-Policy`/`RateLimit`
//! before any origin work.
//!
//! Trade-off against Cloudflare's rate-limit binding (documented in the README): the binding is
//! cheaper (no extra round trip to an object that may live in another colo) but only answers
//! yes/no, supports 10 s or 60 s periods only, and is eventually consistent per location; it
//! cannot report `remaining`/`reset`, so no honest `RateLimit` headers and no exact
//! `Retry-After`. If the object cannot be reached the Worker fails open (logged): a broken
//! limiter should not take the storefront down.
//!
//! A client is its API key when it presents one the edge knows (`API_KEYS`, compared as
//! BLAKE3 digests in constant time), else its IP (`CF-Connecting-IP`). Unknown keys are not
//! trusted as identities: otherwise rotating made-up keys would bypass the IP limit.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vitrine_common::rate_limit::{Decision, RouteClass, Tat};

use crate::config::Settings;

/// Who is charged for a request.
pub fn client_id(settings: &Settings, api_key: Option<&str>, ip: Option<&str>) -> String {
    if let Some(key) = api_key.map(str::trim).filter(|k| !k.is_empty())
        && settings.is_known_api_key(key)
    {
        let digest = blake3::hash(key.as_bytes()).to_hex();
        return format!("key:{}", &digest.as_str()[..32]);
    }
    format!("ip:{}", ip.map(str::trim).unwrap_or("unknown"))
}

/// The API key of a request: `Authorization: Bearer <key>` or `x-api-key`.
pub fn api_key<'a>(authorization: Option<&'a str>, x_api_key: Option<&'a str>) -> Option<&'a str> {
    authorization
        .and_then(|a| {
            a.trim()
                .strip_prefix("Bearer ")
                .or_else(|| a.trim().strip_prefix("bearer "))
        })
        .or(x_api_key)
}

/// The name of the Durable Object holding one client's state for one class.
pub fn object_name(class: RouteClass, client: &str) -> String {
    format!("{}|{client}", class.as_str())
}

/// What the Worker asks the object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRequest {
    pub class: String,
    pub cost: u32,
}

/// A [`Decision`] on the wire between the object and the Worker (times in µs; `u64`s below
/// 2^53 survive the JavaScript number in between).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireDecision {
    pub allowed: bool,
    pub tat: u64,
    pub remaining: u32,
    pub retry_after_us: u64,
    pub reset_after_us: u64,
}

impl From<Decision> for WireDecision {
    fn from(d: Decision) -> Self {
        Self {
            allowed: d.allowed,
            tat: d.new_tat.0,
            remaining: d.remaining,
            retry_after_us: u64::try_from(d.retry_after.as_micros()).unwrap_or(u64::MAX),
            reset_after_us: u64::try_from(d.reset_after.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

impl From<WireDecision> for Decision {
    fn from(w: WireDecision) -> Self {
        Decision {
            allowed: w.allowed,
            new_tat: Tat(w.tat),
            remaining: w.remaining,
            retry_after: Duration::from_micros(w.retry_after_us),
            reset_after: Duration::from_micros(w.reset_after_us),
        }
    }
}

/// The `RateLimit-Policy` and `RateLimit` headers for a decision (common's formats).
pub fn headers(settings: &Settings, class: RouteClass, d: &Decision) -> [(String, String); 2] {
    let quota = settings.rate_limits.get(class);
    [
        (
            "ratelimit-policy".into(),
            vitrine_common::rate_limit::policy_header(class.as_str(), &quota),
        ),
        (
            "ratelimit".into(),
            vitrine_common::rate_limit::ratelimit_header(class.as_str(), d),
        ),
    ]
}

#[cfg(target_arch = "wasm32")]
pub use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use std::cell::Cell;

    use vitrine_common::rate_limit::{Decision, RouteClass, Tat, check};
    use wasm_bindgen::{JsCast, JsValue};
    use worker::{
        DurableObject, Env, Method, Request, RequestInit, Response, State, durable_object,
    };

    use super::{CheckRequest, WireDecision, object_name};
    use crate::config::Settings;

    /// Binding name in wrangler.toml.
    pub const BINDING: &str = "RATE_LIMITER";
    const TAT_KEY: &str = "tat";

    /// One client's GCRA state for one route class.
    #[durable_object]
    pub struct RateLimiter {
        state: State,
        /// The same storage as `state.storage()`, as the JS object: `put` with options is
        /// not in the worker crate's API.
        storage: JsValue,
        env: Env,
        /// The TAT once loaded from storage (`Some(None)`: loaded, none stored).
        tat: Cell<Option<Option<u64>>>,
    }

    impl DurableObject for RateLimiter {
        fn new(state: State, env: Env) -> Self {
            let raw = state._inner();
            let storage = raw.storage().map(JsValue::from).unwrap_or(JsValue::NULL);
            Self {
                state: State::from(raw),
                storage,
                env,
                tat: Cell::new(None),
            }
        }

        async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
            let body: CheckRequest = req.json().await?;
            let settings = Settings::from_env(&self.env)
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let class = RouteClass::parse(&body.class)
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let quota = settings.rate_limits.get(class);
            let stored = match self.tat.get() {
                Some(t) => t,
                None => {
                    let t = self
                        .state
                        .storage()
                        .get::<u64>(TAT_KEY)
                        .await
                        .ok()
                        .flatten();
                    self.tat.set(Some(t));
                    t
                }
            };
            let now_us = worker::Date::now().as_millis().saturating_mul(1000);
            let decision = check(stored.map(Tat), now_us, &quota, body.cost);
            if decision.allowed {
                self.tat.set(Some(Some(decision.new_tat.0)));
                self.store_unconfirmed(decision.new_tat.0);
            }
            Response::from_json(&WireDecision::from(decision))
        }
    }

    impl RateLimiter {
        /// Writes the TAT with `allowUnconfirmed`, not awaited: the decision goes back at once
        /// instead of after the write is durable (the output gate otherwise holds it; under
        /// `wrangler dev` that was most of a cached request's time). The object answers from
        /// `tat` in memory while it lives, so only a crash between the answer and the write
        /// can lose the last update, and then the client gets that one request back: a
        /// limiter may err on the side of allowing. Falls back to the crate's `put` (also in
        /// the background, so confirmed by the output gate) when the JS call cannot be made.
        fn store_unconfirmed(&self, tat: u64) {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(
                &options,
                &JsValue::from_str("allowUnconfirmed"),
                &JsValue::TRUE,
            );
            // TATs are microseconds since 1970 (~2^51 today): exact in an f64, and read back
            // by `storage().get::<u64>` as a number like the crate's own `put` writes.
            let promise = js_sys::Reflect::get(&self.storage, &JsValue::from_str("put"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|put| {
                    put.call3(
                        &self.storage,
                        &JsValue::from_str(TAT_KEY),
                        &JsValue::from_f64(tat as f64),
                        &options,
                    )
                    .ok()
                })
                .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
            match promise {
                Some(promise) => wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                        worker::console_error!("rate limiter: storing the TAT failed: {e:?}");
                    }
                }),
                None => {
                    let storage = self.state.storage();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(e) = storage.put(TAT_KEY, tat).await {
                            worker::console_error!("rate limiter: storing the TAT failed: {e}");
                        }
                    });
                }
            }
        }
    }

    /// Asks the client's object; `None` (fail open, logged) when it cannot be reached.
    pub async fn check_remote(env: &Env, class: RouteClass, client: &str) -> Option<Decision> {
        let result: worker::Result<Decision> = async {
            let ns = env.durable_object(BINDING)?;
            let stub = ns.id_from_name(&object_name(class, client))?.get_stub()?;
            let body = serde_json::to_string(&CheckRequest {
                class: class.as_str().to_owned(),
                cost: 1,
            })?;
            let mut init = RequestInit::new();
            init.with_method(Method::Post)
                .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
            let req = Request::new_with_init("https://rate-limiter/check", &init)?;
            let mut resp = stub.fetch_with_request(req).await?;
            let wire: WireDecision = resp.json().await?;
            Ok(Decision::from(wire))
        }
        .await;
        match result {
            Ok(d) => Some(d),
            Err(e) => {
                worker::console_error!("rate limiter unavailable, failing open: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use vitrine_common::rate_limit::{Quota, check};

    use super::*;

    fn settings() -> Settings {
        Settings::from_lookup(|k| match k {
            "ORIGIN_URL" => Some("http://o".into()),
            "API_KEYS" => Some("key-aaaaaaa".into()),
            "RATE_LIMIT_SEARCH" => Some("3:1".into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn clients_are_known_keys_else_ips() {
        let s = settings();
        let known = client_id(&s, Some("key-aaaaaaa"), Some("203.0.113.1"));
        assert!(known.starts_with("key:") && !known.contains("aaaa"));
        assert_eq!(
            client_id(&s, Some("made-up-key"), Some("203.0.113.1")),
            "ip:203.0.113.1"
        );
        assert_eq!(client_id(&s, None, None), "ip:unknown");
        assert_eq!(api_key(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(api_key(None, Some("xyz")), Some("xyz"));
        assert_eq!(api_key(Some("Basic abc"), None), None);
        assert_eq!(object_name(RouteClass::Search, "ip:1"), "search|ip:1");
    }

    #[test]
    fn decisions_survive_the_wire_and_format_headers() {
        let s = settings();
        let quota: Quota = s.rate_limits.get(RouteClass::Search);
        let mut state = None;
        let now = 1_700_000_000_000_000;
        let mut last = None;
        for _ in 0..4 {
            let d = check(state, now, &quota, 1);
            if d.allowed {
                state = Some(d.new_tat);
            }
            last = Some(d);
        }
        let d = last.unwrap();
        assert!(!d.allowed, "the 4th request of a burst of 3 is refused");
        let wire: WireDecision =
            serde_json::from_str(&serde_json::to_string(&WireDecision::from(d)).unwrap()).unwrap();
        let back = Decision::from(wire);
        assert_eq!(back, d);
        assert_eq!(back.retry_after_secs(), 1);
        let [(p, pv), (r, rv)] = headers(&s, RouteClass::Search, &back);
        assert_eq!(
            (p.as_str(), pv.as_str()),
            ("ratelimit-policy", "\"search\";q=3;w=3")
        );
        assert_eq!(
            (r.as_str(), rv.as_str()),
            ("ratelimit", "\"search\";r=0;t=3")
        );
    }
}
