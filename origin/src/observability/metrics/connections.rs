//! Client connections: how many are open, how many were accepted, how often the cap made one
//! wait, and how many were closed for sending a header too slowly or sitting idle.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Why the server closed a connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The request header did not arrive within `HEADER_READ_TIMEOUT`.
    HeaderTimeout,
    /// No bytes either way for `KEEP_ALIVE_TIMEOUT`.
    Idle,
}

impl Closed {
    fn label(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::Idle => "idle",
        }
    }
}

#[derive(Clone)]
pub struct ConnectionMetrics {
    open: IntGauge,
    accepted: IntCounter,
    capped: IntCounter,
    closed: IntCounterVec,
}

impl ConnectionMetrics {
    pub(super) fn register(r: &Registry) -> prometheus::Result<Self> {
        let open = IntGauge::new(
            "http_connections_open",
            "Client connections being served now.",
        )?;
        let accepted = IntCounter::new(
            "http_connections_accepted_total",
            "Client connections accepted.",
        )?;
        let capped = IntCounter::new(
            "http_connections_capped_total",
            "Times MAX_CONNECTIONS was reached and accepting waited for a connection to close.",
        )?;
        let closed = IntCounterVec::new(
            Opts::new(
                "http_connections_closed_by_server_total",
                "Connections the server closed itself, by reason (header_timeout, idle).",
            ),
            &["reason"],
        )?;
        r.register(Box::new(open.clone()))?;
        r.register(Box::new(accepted.clone()))?;
        r.register(Box::new(capped.clone()))?;
        r.register(Box::new(closed.clone()))?;
        for reason in [Closed::HeaderTimeout, Closed::Idle] {
            closed.with_label_values(&[reason.label()]);
        }
        Ok(Self {
            open,
            accepted,
            capped,
            closed,
        })
    }

    pub fn opened(&self) {
        self.accepted.inc();
        self.open.inc();
    }

    pub fn ended(&self) {
        self.open.dec();
    }

    pub fn capped(&self) {
        self.capped.inc();
    }

    pub fn closed(&self, why: Closed) {
        self.closed.with_label_values(&[why.label()]).inc();
    }

    /// Connections being served now.
    pub fn open_now(&self) -> i64 {
        self.open.get()
    }
}
