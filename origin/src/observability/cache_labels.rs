//! The label values of the cache's metrics (`tier`, `operation`, `status`), shared by the
//! cache that records them and the registry that declares them.

/// Which tier an operation touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    L1,
    L2,
}

impl Tier {
    pub const ALL: [Tier; 2] = [Tier::L1, Tier::L2];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::L1 => "l1",
            Tier::L2 => "l2",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Tier::L1 => 0,
            Tier::L2 => 1,
        }
    }
}

/// Cache operations, the `operation` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Get,
    Set,
    Delete,
}

impl Operation {
    pub const ALL: [Operation; 3] = [Operation::Get, Operation::Set, Operation::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Set => "set",
            Operation::Delete => "delete",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Operation::Get => 0,
            Operation::Set => 1,
            Operation::Delete => 2,
        }
    }
}

/// Outcomes, the `status` label: `hit`/`miss` for gets, `ok` for sets and deletes, `error`
/// for a failed or timed-out Redis call, `skipped` when the breaker was open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Hit,
    Miss,
    Ok,
    Error,
    Skipped,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Hit,
        Status::Miss,
        Status::Ok,
        Status::Error,
        Status::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Hit => "hit",
            Status::Miss => "miss",
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Status::Hit => 0,
            Status::Miss => 1,
            Status::Ok => 2,
            Status::Error => 3,
            Status::Skipped => 4,
        }
    }
}
