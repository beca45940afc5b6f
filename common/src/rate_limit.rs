//! Rate limiting with GCRA (the generic cell rate algorithm), pure: the caller passes the
//! stored state and `now` in, and stores the new state it gets back.
//!
//! Why GCRA: it is a token bucket with exact, continuous refill, but its whole state is one
//! number — the *theoretical arrival time* (TAT) — so it fits one Redis key updated by one
//! atomic script, or one Durable Object field at the edge, and the same function decides in
//! both places. There is no background refill and no per-window counter to reset, and limits
//! are smooth: after a burst, requests are admitted at exactly the sustained rate.
//!
//! The algorithm, with emission interval `T = 1/rate` and tolerance `τ = burst·T`:
//! `tat' = max(tat, now) + cost·T`; admit iff `tat' − now ≤ τ`; if admitted store `tat'`.
//! So a fresh client gets `burst` requests at once, the `burst+1`-th is refused, and from
//! then on one request per `T` passes.
//!
//! Times are **microseconds since the Unix epoch** (`u64`). Microseconds keep sub-millisecond
//! emission intervals exact (30/s is 33 333 µs, not a rounded 33 ms), and unlike nanoseconds
//! they stay exactly representable in an IEEE double until the year 2255 — which matters
//! because Redis' Lua and a Durable Object's JavaScript store numbers as doubles.
//!
//! Headers follow the IETF httpapi draft "RateLimit header fields for HTTP"
//! (draft-ietf-httpapi-ratelimit-headers-08 to -10), which uses structured-field lists:
//! `RateLimit-Policy: "search";q=120;w=12` (quota `q` units per window `w` seconds) and
//! `RateLimit: "search";r=119;t=1` (remaining `r`, seconds `t` until the quota is whole
//! again). A GCRA quota maps onto that as `q = burst` and `w = burst/rate` rounded up — the
//! time an empty bucket takes to refill, the window in which `burst` is the honest promise.
//! `Retry-After` is the whole seconds until the refused request would pass, rounded up.

use std::fmt;
use std::time::Duration;

use crate::error::InvalidInput;

/// Microseconds per second.
const MICROS: u64 = 1_000_000;

/// A theoretical arrival time, in microseconds since the Unix epoch. Store it as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tat(pub u64);

/// A rate limit: up to `burst` requests at once, refilled at a steady rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    burst: u32,
    /// Microseconds between two admitted requests at the sustained rate (`T`).
    emission_interval_us: u64,
}

impl Quota {
    /// `burst` requests at once, then `per_second` requests per second (may be fractional:
    /// 0.5 is one request every two seconds). `burst ≥ 1`; the rate must be finite,
    /// positive, and at most one request per microsecond.
    pub fn per_second(burst: u32, per_second: f64) -> Result<Self, InvalidInput> {
        if burst == 0 {
            return Err(InvalidInput::new("rate_limit", "burst must be at least 1"));
        }
        if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1_000_000.0) {
            return Err(InvalidInput::new(
                "rate_limit",
                "rate must be a positive number of requests per second, at most 1000000",
            ));
        }
        let interval = (MICROS as f64 / per_second).round();
        if interval > (u64::MAX / 2) as f64 {
            return Err(InvalidInput::new("rate_limit", "rate is too slow"));
        }
        Ok(Self {
            burst,
            emission_interval_us: (interval as u64).max(1),
        })
    }

    /// `burst` requests at once, then `count` requests per `period`.
    pub fn per_period(burst: u32, count: u32, period: Duration) -> Result<Self, InvalidInput> {
        if count == 0 || period.is_zero() {
            return Err(InvalidInput::new(
                "rate_limit",
                "count and period must be positive",
            ));
        }
        Self::per_second(burst, f64::from(count) / period.as_secs_f64())
    }

    /// Parses a setting: `<burst>:<count>[/<unit>]`, unit `s` (default), `m` or `h`.
    /// `"300:30"` = burst 300, 30 per second; `"20:60/m"` = burst 20, 60 per minute.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(
                "rate_limit",
                format!("expected <burst>:<count>[/s|/m|/h], e.g. \"300:30\" (got {raw:?})"),
            )
        };
        let (burst, rate) = raw.trim().split_once(':').ok_or_else(bad)?;
        let (count, unit) = match rate.split_once('/') {
            Some((c, u)) => (c, u.trim()),
            None => (rate, "s"),
        };
        let secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(bad()),
        };
        let burst: u32 = burst.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        Self::per_period(burst, count, Duration::from_secs(secs))
    }

    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The sustained rate in requests per second.
    pub fn rate_per_second(&self) -> f64 {
        MICROS as f64 / self.emission_interval_us as f64
    }

    /// The emission interval `T`.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_micros(self.emission_interval_us)
    }

    /// The window `w` of `RateLimit-Policy`: seconds to refill an empty bucket, rounded up.
    pub fn window_secs(&self) -> u64 {
        let tau = self.tolerance_us();
        tau.div_ceil(MICROS).max(1)
    }

    /// The same quota with burst and rate multiplied by `factor` (trusted API keys, load
    /// tests). Saturates rather than overflowing.
    pub fn scaled(&self, factor: u32) -> Quota {
        let factor = factor.max(1);
        Quota {
            burst: self.burst.saturating_mul(factor),
            emission_interval_us: (self.emission_interval_us / u64::from(factor)).max(1),
        }
    }

    fn tolerance_us(&self) -> u64 {
        self.emission_interval_us
            .saturating_mul(u64::from(self.burst))
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.burst, self.rate_per_second())
    }
}

/// The outcome of one [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The state to store: the new TAT when allowed, the unchanged one when refused.
    pub new_tat: Tat,
    /// Requests of cost 1 that would still pass right now, after this decision.
    pub remaining: u32,
    /// How long until this request (same cost) would pass; zero when allowed.
    pub retry_after: Duration,
    /// How long until the bucket is full again (state can then be dropped: use it as the
    /// stored key's expiry).
    pub reset_after: Duration,
}

impl Decision {
    /// `Retry-After` in whole seconds, rounded up (0 when allowed).
    pub fn retry_after_secs(&self) -> u64 {
        ceil_secs(self.retry_after)
    }

    /// Seconds until the quota is whole again, rounded up (`t` of the `RateLimit` field).
    pub fn reset_after_secs(&self) -> u64 {
        ceil_secs(self.reset_after)
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    us.div_ceil(MICROS)
}

/// Applies GCRA to one request of `cost` units (usually 1) at `now` (µs since the epoch).
///
/// `state` is the stored TAT, `None` for a client never seen (or whose key expired). A
/// `cost` of 0 only reports the current standing. A cost above the burst can never pass:
/// it is refused with `retry_after` equal to the full refill time, so clients back off.
pub fn check(state: Option<Tat>, now: u64, quota: &Quota, cost: u32) -> Decision {
    let t = quota.emission_interval_us;
    let tau = quota.tolerance_us();
    let tat = state.map_or(now, |Tat(v)| v.max(now));
    let increment = t.saturating_mul(u64::from(cost));
    let new_tat = tat.saturating_add(increment);
    // `new_tat - now` is how far into the future this request pushes the bucket.
    let allow_at = new_tat.saturating_sub(tau);
    let remaining_at = |tat_after: u64| -> u32 {
        let used = tat_after - now;
        let free = tau.saturating_sub(used);
        u32::try_from(free / t).unwrap_or(u32::MAX).min(quota.burst)
    };
    if cost <= quota.burst && allow_at <= now {
        Decision {
            allowed: true,
            new_tat: Tat(new_tat),
            remaining: remaining_at(new_tat),
            retry_after: Duration::ZERO,
            reset_after: Duration::from_micros(new_tat - now),
        }
    } else {
        let reset_after = Duration::from_micros(tat - now);
        let retry_after = if cost > quota.burst {
            Duration::from_micros(tau.max(tat - now))
        } else {
            Duration::from_micros(allow_at - now)
        };
        Decision {
            allowed: false,
            new_tat: state.unwrap_or(Tat(now)),
            remaining: remaining_at(tat),
            retry_after,
            reset_after,
        }
    }
}

/// Formats a structured-field string item (`"name"`), escaping `\` and `"` and dropping
/// characters a header cannot carry.
fn sf_string(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
    out
}

/// The `RateLimit-Policy` field value for one policy: `"search";q=120;w=12`.
pub fn policy_header(policy: &str, quota: &Quota) -> String {
    format!(
        "{};q={};w={}",
        sf_string(policy),
        quota.burst,
        quota.window_secs()
    )
}

/// The `RateLimit` field value for one policy after a decision: `"search";r=119;t=1`.
pub fn ratelimit_header(policy: &str, decision: &Decision) -> String {
    format!(
        "{};r={};t={}",
        sf_string(policy),
        decision.remaining,
        decision.reset_after_secs()
    )
}

/// Classes of routes with their own limits. A request is charged to exactly one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteClass {
    /// Product pages and listings, health, anything cheap and cached.
    Read,
    /// Text search (typeahead included).
    Search,
    /// Search by photo: an upload, a decode and an embedding per request.
    ImageSearch,
    /// Catalog writes and imports.
    Write,
    /// Resized images.
    Thumbnail,
}

impl RouteClass {
    pub const ALL: [RouteClass; 5] = [
        RouteClass::Read,
        RouteClass::Search,
        RouteClass::ImageSearch,
        RouteClass::Write,
        RouteClass::Thumbnail,
    ];

    /// The policy name in headers, the metrics label and the settings suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Search => "search",
            RouteClass::ImageSearch => "image_search",
            RouteClass::Write => "write",
            RouteClass::Thumbnail => "thumbnail",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        RouteClass::ALL
            .into_iter()
            .find(|c| c.as_str() == raw.trim())
            .ok_or_else(|| {
                InvalidInput::new(
                    "route_class",
                    "must be one of read, search, image_search, write, thumbnail",
                )
            })
    }

    /// Defaults per client (API key, else IP), chosen for a storefront where one page view
    /// fires a handful of API calls and dozens of image requests, and where several shoppers
    /// may share one IP behind a carrier NAT:
    ///
    /// | class | burst | rate | `RateLimit-Policy` |
    /// |---|---|---|---|
    /// | read | 300 | 30/s | `"read";q=300;w=10` |
    /// | search | 120 | 10/s | `"search";q=120;w=12` |
    /// | image_search | 20 | 2/s | `"image_search";q=20;w=10` |
    /// | write | 60 | 5/s | `"write";q=60;w=12` |
    /// | thumbnail | 600 | 60/s | `"thumbnail";q=600;w=10` |
    ///
    /// Search allows typeahead (a query per keystroke) for a few people at once; image search
    /// costs an embedding each, so it is an order of magnitude tighter; thumbnails are
    /// looser because a product grid with `srcset` loads a hundred at once.
    pub fn default_quota(self) -> Quota {
        let (burst, interval_us) = match self {
            RouteClass::Read => (300, MICROS / 30),
            RouteClass::Search => (120, MICROS / 10),
            RouteClass::ImageSearch => (20, MICROS / 2),
            RouteClass::Write => (60, MICROS / 5),
            RouteClass::Thumbnail => (600, MICROS / 60),
        };
        Quota {
            burst,
            emission_interval_us: interval_us,
        }
    }

    /// The class of a request by method and path, so the origin and the edge charge the same
    /// class: non-GET/HEAD → write (except `POST /api/search/…`, which is a read-only
    /// search with a body); `/api/search/image…` → image search; `/api/search…` → search;
    /// `/img/…` and `/api/images/…` → thumbnail; everything else → read.
    pub fn classify(method: &str, path: &str) -> RouteClass {
        let safe = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under("/api/search/image") {
            RouteClass::ImageSearch
        } else if under("/api/search") {
            RouteClass::Search
        } else if !safe {
            RouteClass::Write
        } else if under("/img") || under("/api/images") {
            RouteClass::Thumbnail
        } else {
            RouteClass::Read
        }
    }
}

impl fmt::Display for RouteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quota of every route class; defaults from [`RouteClass::default_quota`], overridden
/// from settings by the origin and the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    quotas: [Quota; 5],
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            quotas: RouteClass::ALL.map(RouteClass::default_quota),
        }
    }
}

impl RateLimits {
    fn index(class: RouteClass) -> usize {
        match class {
            RouteClass::Read => 0,
            RouteClass::Search => 1,
            RouteClass::ImageSearch => 2,
            RouteClass::Write => 3,
            RouteClass::Thumbnail => 4,
        }
    }

    pub fn get(&self, class: RouteClass) -> Quota {
        self.quotas[Self::index(class)]
    }

    pub fn with(mut self, class: RouteClass, quota: Quota) -> Self {
        self.quotas[Self::index(class)] = quota;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_700_000_000 * MICROS;

    fn q(burst: u32, rate: f64) -> Quota {
        Quota::per_second(burst, rate).unwrap()
    }

    /// Runs `n` requests at `now`, threading the state; returns how many passed.
    fn burst_at(state: &mut Option<Tat>, now: u64, quota: &Quota, n: u32) -> u32 {
        let mut passed = 0;
        for _ in 0..n {
            let d = check(*state, now, quota, 1);
            *state = Some(d.new_tat);
            if d.allowed {
                passed += 1;
            }
        }
        passed
    }

    #[test]
    fn burst_is_exhausted_exactly_at_burst_plus_one() {
        for burst in [1, 2, 10, 300] {
            let quota = q(burst, 10.0);
            let mut state = None;
            for i in 0..burst {
                let d = check(state, START, &quota, 1);
                assert!(d.allowed, "request {} of burst {burst}", i + 1);
                assert_eq!(d.remaining, burst - i - 1);
                state = Some(d.new_tat);
            }
            let d = check(state, START, &quota, 1);
            assert!(!d.allowed, "request {} of burst {burst}", burst + 1);
            assert_eq!(d.remaining, 0);
            assert_eq!(
                d.new_tat,
                state.unwrap(),
                "a refusal leaves the state alone"
            );
        }
    }

    #[test]
    fn retry_after_is_exact() {
        let quota = q(5, 4.0); // T = 250 ms
        let mut state = None;
        assert_eq!(burst_at(&mut state, START, &quota, 5), 5);
        let d = check(state, START, &quota, 1);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_millis(250));
        assert_eq!(d.retry_after_secs(), 1);
        assert_eq!(d.reset_after, Duration::from_millis(1250));
        // One microsecond early: still refused, by exactly one microsecond.
        let early = check(state, START + 249_999, &quota, 1);
        assert!(!early.allowed);
        assert_eq!(early.retry_after, Duration::from_micros(1));
        assert_eq!(early.retry_after_secs(), 1);
        // On the dot: allowed, and the bucket is empty again.
        let on_time = check(state, START + 250_000, &quota, 1);
        assert!(on_time.allowed);
        assert_eq!(on_time.remaining, 0);
        assert_eq!(on_time.retry_after, Duration::ZERO);
        // 100 ms later in the refused state: 150 ms to wait.
        let later = check(state, START + 100_000, &quota, 1);
        assert_eq!(later.retry_after, Duration::from_millis(150));
    }

    #[test]
    fn steady_rate_is_allowed_forever_and_faster_is_not() {
        let quota = q(10, 20.0); // T = 50 ms
        let mut state = None;
        assert_eq!(burst_at(&mut state, START, &quota, 10), 10);
        // Exactly at the rate: every request passes, for a long time.
        let mut now = START;
        for i in 0..10_000 {
            now += 50_000;
            let d = check(state, now, &quota, 1);
            assert!(d.allowed, "steady request {i}");
            assert_eq!(d.remaining, 0);
            state = Some(d.new_tat);
        }
        // 10 % faster than the rate: about one in eleven is refused.
        let mut refused = 0;
        for _ in 0..1100 {
            now += 45_455;
            let d = check(state, now, &quota, 1);
            state = Some(d.new_tat);
            if !d.allowed {
                refused += 1;
            }
        }
        assert!((95..=105).contains(&refused), "{refused}");
    }

    #[test]
    fn idle_time_refills_up_to_the_burst_only() {
        let quota = q(10, 10.0); // T = 100 ms
        let mut state = None;
        assert_eq!(burst_at(&mut state, START, &quota, 10), 10);
        // 350 ms later: three requests' worth refilled.
        assert_eq!(burst_at(&mut state, START + 350_000, &quota, 10), 3);
        // An hour idle: exactly the burst again, never more.
        let t = START + 3600 * MICROS;
        assert_eq!(check(state, t, &quota, 0).remaining, 10);
        assert_eq!(burst_at(&mut state, t, &quota, 20), 10);
    }

    #[test]
    fn cost_is_charged_and_oversized_costs_never_pass() {
        let quota = q(10, 10.0);
        let d = check(None, START, &quota, 4);
        assert!(d.allowed);
        assert_eq!(d.remaining, 6);
        let d2 = check(Some(d.new_tat), START, &quota, 7);
        assert!(!d2.allowed);
        assert_eq!(d2.remaining, 6, "a refused request is not charged");
        assert_eq!(d2.retry_after, Duration::from_millis(100));
        let d3 = check(Some(d.new_tat), START, &quota, 6);
        assert!(d3.allowed);
        assert_eq!(d3.remaining, 0);
        let big = check(None, START, &quota, 11);
        assert!(!big.allowed);
        assert_eq!(big.retry_after, Duration::from_secs(1));
        // Cost 0 peeks without charging.
        let peek = check(Some(d.new_tat), START, &quota, 0);
        assert!(peek.allowed);
        assert_eq!(peek.new_tat, d.new_tat);
        assert_eq!(peek.remaining, 6);
    }

    #[test]
    fn clock_going_backwards_or_stale_state_is_safe() {
        let quota = q(3, 1.0);
        // State far in the past = a fresh client.
        let d = check(Some(Tat(0)), START, &quota, 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 2);
        // State in the future (another instance's clock is ahead): no panic, no overflow.
        let d = check(Some(Tat(START + 10 * MICROS)), START, &quota, 1);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_secs(8));
        let d = check(Some(Tat(u64::MAX)), 0, &quota, u32::MAX);
        assert!(!d.allowed);
        let d = check(None, u64::MAX, &q(u32::MAX, 1_000_000.0), u32::MAX);
        assert!(!d.allowed || d.new_tat.0 == u64::MAX);
    }

    #[test]
    fn property_never_more_than_burst_plus_rate_times_elapsed() {
        // For pseudo-random arrival patterns, admitted ≤ burst + elapsed/T (+1 for the edge).
        let quota = q(7, 3.0);
        let t = quota.emission_interval_us;
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        for _ in 0..50 {
            let mut state = None;
            let mut now = START;
            let mut admitted: u64 = 0;
            for _ in 0..500 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                now += x % 700_000;
                if check(state, now, &quota, 1).allowed {
                    admitted += 1;
                    state = Some(check(state, now, &quota, 1).new_tat);
                }
            }
            let bound = 7 + (now - START) / t + 1;
            assert!(admitted <= bound, "{admitted} > {bound}");
        }
    }

    #[test]
    fn headers_follow_the_draft() {
        let quota = RouteClass::Read.default_quota();
        assert_eq!(policy_header("read", &quota), "\"read\";q=300;w=10");
        let d = check(None, START, &quota, 1);
        assert_eq!(ratelimit_header("read", &d), "\"read\";r=299;t=1");
        let search = RouteClass::Search.default_quota();
        assert_eq!(policy_header("search", &search), "\"search\";q=120;w=12");
        let slow = q(5, 0.25);
        assert_eq!(
            policy_header("a\"b\\c\né", &slow),
            "\"a\\\"b\\\\c\";q=5;w=20"
        );
        let mut state = None;
        burst_at(&mut state, START, &slow, 5);
        let refused = check(state, START, &slow, 1);
        assert_eq!(ratelimit_header("x", &refused), "\"x\";r=0;t=20");
        assert_eq!(refused.retry_after_secs(), 4);
    }

    #[test]
    fn quota_constructors_and_parsing() {
        assert_eq!(
            Quota::parse("300:30").unwrap(),
            RouteClass::Read.default_quota()
        );
        assert_eq!(Quota::parse(" 300 : 30 /s").unwrap(), q(300, 30.0));
        let m = Quota::parse("20:60/m").unwrap();
        assert_eq!(m.emission_interval(), Duration::from_secs(1));
        assert_eq!(m.burst(), 20);
        assert_eq!(Quota::parse("10:1/h").unwrap().window_secs(), 36_000);
        for bad in [
            "", "300", "0:30", "300:0", "300:30/d", "-1:5", "a:b", "300:30/",
        ] {
            assert!(Quota::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Quota::per_second(1, f64::NAN).is_err());
        assert!(Quota::per_second(1, f64::INFINITY).is_err());
        assert!(Quota::per_second(1, -1.0).is_err());
        assert!(Quota::per_second(1, 1e-30).is_err());
        assert_eq!(
            q(3, 3.0).emission_interval(),
            Duration::from_micros(333_333)
        );
        let scaled = RouteClass::Read.default_quota().scaled(10);
        assert_eq!(scaled.burst(), 3000);
        assert!((scaled.rate_per_second() - 300.0).abs() < 0.1);
    }

    #[test]
    fn route_classes() {
        let cases = [
            ("GET", "/api/products/42", RouteClass::Read),
            ("GET", "/api/health", RouteClass::Read),
            ("GET", "/api/searching", RouteClass::Read),
            ("GET", "/api/search/text", RouteClass::Search),
            ("POST", "/api/search/text", RouteClass::Search),
            ("POST", "/api/search/image", RouteClass::ImageSearch),
            ("POST", "/api/search/images", RouteClass::Search),
            ("GET", "/img/abc/w:300/x", RouteClass::Thumbnail),
            ("HEAD", "/api/images/abc/thumbnail", RouteClass::Thumbnail),
            ("GET", "/imgs", RouteClass::Read),
            ("POST", "/api/products", RouteClass::Write),
            ("put", "/api/products/1", RouteClass::Write),
            ("DELETE", "/img/x", RouteClass::Write),
        ];
        for (m, p, want) in cases {
            assert_eq!(RouteClass::classify(m, p), want, "{m} {p}");
        }
        for c in RouteClass::ALL {
            assert_eq!(RouteClass::parse(c.as_str()).unwrap(), c);
            assert_eq!(RateLimits::default().get(c), c.default_quota());
        }
        let custom = RateLimits::default().with(RouteClass::Write, q(1, 1.0));
        assert_eq!(custom.get(RouteClass::Write), q(1, 1.0));
        assert_eq!(
            custom.get(RouteClass::Read),
            RouteClass::Read.default_quota()
        );
    }
}
