//! Where originals are stored: a folder (`file://…`, the embedded default under `DATA_DIR`) or
//! an S3-compatible bucket (`s3://bucket[/prefix]` with the usual `AWS_*` variables), how long
//! one store call may take, and when unreferenced objects are removed.

use std::{path::PathBuf, time::Duration};

use super::{
    Cadence, ConfigError, err,
    parse::{Lookup, parse_bool, parse_duration},
};

#[derive(Debug, Clone)]
pub struct ObjectStoreSettings {
    /// `OBJECT_STORE_URL` (default `file://` + `originals` under `DATA_DIR`).
    pub location: StoreLocation,
    /// `OBJECT_STORE_TIMEOUT`: the longest one store call may take, retries included.
    pub timeout: Duration,
    /// `OBJECT_STORE_ORPHAN_GRACE`: objects without an `images` row older than this are removed.
    pub orphan_grace: Duration,
    /// When the sweep runs: `OBJECT_STORE_ORPHAN_SCHEDULE` (a cron expression or
    /// `every <duration>`) when set, else every `OBJECT_STORE_ORPHAN_INTERVAL`; `None` (an
    /// interval of `0`): never.
    pub orphan_schedule: Option<Cadence>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// Objects as files under this folder.
    Dir(PathBuf),
    S3(S3Location),
}

/// An S3-compatible bucket and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Keys start with `prefix/` when set (no leading or trailing slash).
    pub prefix: Option<String>,
    /// `AWS_ENDPOINT_URL`: an S3-compatible server (`http://` or `https://`); unset means AWS.
    pub endpoint: Option<String>,
    /// `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, set together; unset: the instance's
    /// role (instance metadata).
    pub credentials: Option<S3Credentials>,
    /// `AWS_S3_FORCE_PATH_STYLE` (default: true when an endpoint is set): `endpoint/bucket/key`
    /// rather than `bucket.endpoint/key`, which S3-compatible servers answer without wildcard DNS.
    pub path_style: bool,
}

#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl ObjectStoreSettings {
    pub(super) fn from_lookup(
        get: &impl Lookup,
        data_dir: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let location = match get("OBJECT_STORE_URL") {
            None => StoreLocation::Dir(data_dir.join("originals")),
            Some(url) => parse_location(get, &url)?,
        };
        let timeout = parse_duration(get, "OBJECT_STORE_TIMEOUT", Duration::from_secs(10))?;
        if !(Duration::from_millis(10)..=Duration::from_secs(300)).contains(&timeout) {
            return Err(err("OBJECT_STORE_TIMEOUT", "must be between 10ms and 5m"));
        }
        let orphan_grace = parse_duration(
            get,
            "OBJECT_STORE_ORPHAN_GRACE",
            Duration::from_secs(24 * 3600),
        )?;
        if orphan_grace < Duration::from_secs(1) {
            return Err(err("OBJECT_STORE_ORPHAN_GRACE", "must be at least 1s"));
        }
        Ok(Self {
            location,
            timeout,
            orphan_grace,
            orphan_schedule: parse_orphan_schedule(get)?,
        })
    }
}

fn parse_orphan_schedule(get: &impl Lookup) -> Result<Option<Cadence>, ConfigError> {
    const SCHEDULE: &str = "OBJECT_STORE_ORPHAN_SCHEDULE";
    const INTERVAL: &str = "OBJECT_STORE_ORPHAN_INTERVAL";
    if let Some(raw) = get(SCHEDULE).filter(|v| !v.trim().is_empty()) {
        return Cadence::parse(&raw, SCHEDULE)
            .map(Some)
            .map_err(|e| err(SCHEDULE, e.reason));
    }
    let interval = parse_duration(get, INTERVAL, Duration::from_secs(3600))?;
    if interval.is_zero() {
        return Ok(None);
    }
    Cadence::every(interval, INTERVAL)
        .map(Some)
        .map_err(|e| err(INTERVAL, format!("{} (or 0: never)", e.reason)))
}

fn parse_location(get: &impl Lookup, url: &str) -> Result<StoreLocation, ConfigError> {
    const VAR: &str = "OBJECT_STORE_URL";
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err(err(
                VAR,
                "file:// needs a folder, e.g. file:///var/lib/vitrine/originals",
            ));
        }
        return Ok(StoreLocation::Dir(PathBuf::from(path)));
    }
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(err(
            VAR,
            format!("must start with file:// or s3:// (got {url:?})"),
        ));
    };
    let (bucket, prefix) = match rest.split_once('/') {
        Some((b, p)) => (b, p.trim_matches('/')),
        None => (rest, ""),
    };
    check_bucket(bucket).map_err(|r| err(VAR, format!("{r} (got {bucket:?})")))?;
    let prefix = if prefix.is_empty() {
        None
    } else {
        check_prefix(prefix).map_err(|r| err(VAR, format!("{r} (got {prefix:?})")))?;
        Some(prefix.to_owned())
    };
    let endpoint = get("AWS_ENDPOINT_URL");
    if let Some(e) = &endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        return Err(err(
            "AWS_ENDPOINT_URL",
            format!("must start with http:// or https:// (got {e:?})"),
        ));
    }
    let region = get("AWS_REGION")
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".into());
    if !region
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            "AWS_REGION",
            format!("letters, digits and - only (got {region:?})"),
        ));
    }
    let credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => Some(S3Credentials {
            access_key_id,
            secret_access_key,
            session_token: get("AWS_SESSION_TOKEN"),
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(err(
                "AWS_SECRET_ACCESS_KEY",
                "is required when AWS_ACCESS_KEY_ID is set",
            ));
        }
        (None, Some(_)) => {
            return Err(err(
                "AWS_ACCESS_KEY_ID",
                "is required when AWS_SECRET_ACCESS_KEY is set",
            ));
        }
    };
    let path_style = parse_bool(get, "AWS_S3_FORCE_PATH_STYLE", endpoint.is_some())?;
    Ok(StoreLocation::S3(S3Location {
        bucket: bucket.to_owned(),
        prefix,
        endpoint,
        region,
        credentials,
        path_style,
    }))
}

/// S3's bucket naming rules: 3–63 characters, lower-case letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok_len = (3..=63).contains(&bucket.len());
    let ok_chars = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ok_ends = bucket
        .bytes()
        .next()
        .zip(bucket.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_ends {
        Ok(())
    } else {
        Err("the bucket must be 3-63 lower-case letters, digits, '.' or '-'".into())
    }
}

/// A key prefix: `/`-separated segments of letters, digits, `.`, `_` and `-`, none empty or
/// `.`/`..`.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = prefix.len() <= 512
        && prefix.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(
            "the prefix must be segments of letters, digits, '.', '_' or '-' separated by '/'"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<ObjectStoreSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ObjectStoreSettings::from_lookup(
            &|name: &str| map.get(name).cloned(),
            std::path::Path::new("/srv/data"),
        )
    }

    #[test]
    fn the_sweep_runs_on_a_cron_schedule_an_interval_or_never() {
        let cron = parse(&[("OBJECT_STORE_ORPHAN_SCHEDULE", "17 3 * * *")]).unwrap();
        assert_eq!(
            cron.orphan_schedule.map(|c| c.describe()).as_deref(),
            Some("17 3 * * *")
        );
        let every = parse(&[("OBJECT_STORE_ORPHAN_INTERVAL", "15m")]).unwrap();
        assert_eq!(
            every.orphan_schedule.map(|c| c.describe()).as_deref(),
            Some("every 900s")
        );
        let never = parse(&[("OBJECT_STORE_ORPHAN_INTERVAL", "0")]).unwrap();
        assert!(never.orphan_schedule.is_none());
    }

    #[test]
    fn defaults_to_the_originals_folder_under_data_dir() {
        let s = parse(&[]).unwrap();
        assert_eq!(
            s.location,
            StoreLocation::Dir(PathBuf::from("/srv/data/originals"))
        );
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.orphan_grace, Duration::from_secs(86_400));
        assert_eq!(
            s.orphan_schedule.map(|c| c.describe()).as_deref(),
            Some("every 3600s")
        );
    }

    #[test]
    fn file_urls_name_a_folder() {
        let s = parse(&[("OBJECT_STORE_URL", "file:///var/lib/originals")]).unwrap();
        assert_eq!(
            s.location,
            StoreLocation::Dir(PathBuf::from("/var/lib/originals"))
        );
        let s = parse(&[("OBJECT_STORE_URL", "file://rel/dir")]).unwrap();
        assert_eq!(s.location, StoreLocation::Dir(PathBuf::from("rel/dir")));
        let e = parse(&[("OBJECT_STORE_URL", "file://")]).unwrap_err();
        assert_eq!(e.var, "OBJECT_STORE_URL");
    }

    #[test]
    fn s3_urls_with_an_endpoint_use_path_style() {
        let s = parse(&[
            ("OBJECT_STORE_URL", "s3://vitrine-originals/prod/originals/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3900"),
            ("AWS_REGION", "garage"),
            ("AWS_ACCESS_KEY_ID", "GK123"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"),
        ])
        .unwrap();
        let StoreLocation::S3(s3) = s.location else {
            panic!("expected S3")
        };
        assert_eq!(s3.bucket, "vitrine-originals");
        assert_eq!(s3.prefix.as_deref(), Some("prod/originals"));
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
        assert_eq!(s3.region, "garage");
        assert!(s3.path_style);
        let creds = s3.credentials.unwrap();
        assert_eq!(creds.access_key_id, "GK123");
        assert!(!format!("{creds:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn s3_against_aws_is_virtual_hosted_unless_forced() {
        let StoreLocation::S3(s3) = parse(&[("OBJECT_STORE_URL", "s3://my-bucket")])
            .unwrap()
            .location
        else {
            panic!("expected S3")
        };
        assert_eq!(s3.prefix, None);
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s3.credentials, None);
        assert!(!s3.path_style);
        let StoreLocation::S3(s3) = parse(&[
            ("OBJECT_STORE_URL", "s3://my-bucket"),
            ("AWS_S3_FORCE_PATH_STYLE", "true"),
        ])
        .unwrap()
        .location
        else {
            panic!("expected S3")
        };
        assert!(s3.path_style);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("OBJECT_STORE_URL", "gs://bucket")], "OBJECT_STORE_URL"),
            (
                &[("OBJECT_STORE_URL", "s3://Bad_Bucket")],
                "OBJECT_STORE_URL",
            ),
            (&[("OBJECT_STORE_URL", "s3://ab")], "OBJECT_STORE_URL"),
            (
                &[("OBJECT_STORE_URL", "s3://bucket/../etc")],
                "OBJECT_STORE_URL",
            ),
            (
                &[("OBJECT_STORE_URL", "s3://bucket/a//b")],
                "OBJECT_STORE_URL",
            ),
            (
                &[
                    ("OBJECT_STORE_URL", "s3://bucket"),
                    ("AWS_ENDPOINT_URL", "127.0.0.1:9000"),
                ],
                "AWS_ENDPOINT_URL",
            ),
            (
                &[
                    ("OBJECT_STORE_URL", "s3://bucket"),
                    ("AWS_ACCESS_KEY_ID", "k"),
                ],
                "AWS_SECRET_ACCESS_KEY",
            ),
            (
                &[
                    ("OBJECT_STORE_URL", "s3://bucket"),
                    ("AWS_SECRET_ACCESS_KEY", "s"),
                ],
                "AWS_ACCESS_KEY_ID",
            ),
            (
                &[
                    ("OBJECT_STORE_URL", "s3://bucket"),
                    ("AWS_REGION", "us east"),
                ],
                "AWS_REGION",
            ),
            (
                &[
                    ("OBJECT_STORE_URL", "s3://bucket"),
                    ("AWS_S3_FORCE_PATH_STYLE", "maybe"),
                ],
                "AWS_S3_FORCE_PATH_STYLE",
            ),
            (&[("OBJECT_STORE_TIMEOUT", "1ms")], "OBJECT_STORE_TIMEOUT"),
            (&[("OBJECT_STORE_TIMEOUT", "soon")], "OBJECT_STORE_TIMEOUT"),
            (
                &[("OBJECT_STORE_ORPHAN_GRACE", "0s")],
                "OBJECT_STORE_ORPHAN_GRACE",
            ),
            (
                &[("OBJECT_STORE_ORPHAN_INTERVAL", "-1")],
                "OBJECT_STORE_ORPHAN_INTERVAL",
            ),
            (
                &[("OBJECT_STORE_ORPHAN_INTERVAL", "500ms")],
                "OBJECT_STORE_ORPHAN_INTERVAL",
            ),
            (
                &[("OBJECT_STORE_ORPHAN_SCHEDULE", "every tuesday")],
                "OBJECT_STORE_ORPHAN_SCHEDULE",
            ),
            (
                &[("OBJECT_STORE_ORPHAN_SCHEDULE", "61 * * * *")],
                "OBJECT_STORE_ORPHAN_SCHEDULE",
            ),
        ];
        for (vars, var) in cases {
            let e = parse(vars).expect_err(&format!("{vars:?} should be refused"));
            assert_eq!(e.var, *var, "{vars:?}: {e}");
        }
    }
}
