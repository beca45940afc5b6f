//! Requests the test makes, and the count of which instance nginx sent each one to.

use std::{collections::BTreeMap, sync::Mutex};

use super::deployment::KEY;

/// A client that counts, for requests through the balancer, the `x-upstream` nginx names.
pub struct Client {
    pub http: reqwest::Client,
    served: Mutex<BTreeMap<String, u32>>,
}

impl Client {
    pub fn new() -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("http client"),
            served: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sends `req`, counting the upstream that served it when nginx names one.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let r = req.send().await.expect("request failed to complete");
        if let Some(up) = r.headers().get("x-upstream").and_then(|v| v.to_str().ok()) {
            // After a retry nginx lists every upstream it tried: the last one answered.
            let last = up.rsplit(", ").next().unwrap_or(up).to_owned();
            *self
                .served
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(last)
                .or_default() += 1;
        }
        r
    }

    pub async fn json(&self, req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let r = self.send(req).await;
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Uploads `bytes` as an original through `base`; returns its id.
    pub async fn upload(&self, base: &str, bytes: Vec<u8>) -> String {
        let (status, body) = self
            .json(
                self.http
                    .post(format!("{base}/api/images"))
                    .bearer_auth(KEY)
                    .header("content-type", "image/jpeg")
                    .body(bytes),
            )
            .await;
        assert!(status == 201 || status == 200, "upload: {status} {body}");
        body["id"].as_str().expect("image id").to_owned()
    }

    /// Titles of the text-search hits for `q` on `base`.
    pub async fn search_titles(&self, base: &str, q: &str) -> Vec<String> {
        let (status, body) = self
            .json(
                self.http
                    .get(format!("{base}/api/search/text"))
                    .query(&[("q", q)]),
            )
            .await;
        assert_eq!(status, 200, "search on {base}: {body}");
        titles(&body)
    }

    /// Product ids of a photo search with `bytes` on `base`.
    pub async fn photo_search_ids(&self, base: &str, bytes: &[u8]) -> Vec<i64> {
        let form = reqwest::multipart::Form::new().text("limit", "5").part(
            "image",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo.jpg"),
        );
        let (status, body) = self
            .json(
                self.http
                    .post(format!("{base}/api/search/image"))
                    .multipart(form),
            )
            .await;
        assert_eq!(status, 200, "photo search on {base}: {body}");
        body["results"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["id"].as_i64()).collect())
            .unwrap_or_default()
    }

    /// Requests served through the balancer so far, by upstream address.
    pub fn served(&self) -> BTreeMap<String, u32> {
        self.served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn titles(body: &serde_json::Value) -> Vec<String> {
    body["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A distinct `w`×`h` JPEG: a pattern of `seed` with a trailer after EOI that makes every
/// file's bytes (and so its content address) distinct.
pub fn jpeg(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            ((x * 3 + seed * 37) % 256) as u8,
            ((y * 2 + seed * 91) % 256) as u8,
            (((x / 16) ^ (y / 16)) * 29 % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&img, w, h, image::ExtendedColorType::Rgb8)
        .expect("encoding a test JPEG");
    out.extend_from_slice(format!("seed-{seed}").as_bytes());
    out
}
