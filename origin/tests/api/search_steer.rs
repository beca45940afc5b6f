//! Sorting, multi-select (disjunctive) facets with price statistics, and synonyms.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    API_KEY, Backend, TestApp, product_json, spawn_app, spawn_app_with, spawn_on,
};
use crate::on_both_backends;

on_both_backends!(
    sort_orders_are_total_and_part_of_the_cache_key,
    facets_are_disjunctive_with_price_statistics,
    synonyms_expand_queries_and_invalidate_cached_searches,
);

/// Products: (sku, title, category, brand, price).
const ROWS: [(&str, &str, &str, &str, i64); 8] = [
    ("K-1", "Trail Sneakers", "Sneakers", "Acme", 8_900),
    ("K-2", "City Sneakers", "Sneakers", "Kumo", 6_900),
    ("K-3", "Road Sneakers", "Sneakers", "Pebble", 6_900),
    ("K-4", "Office Chair", "Chairs", "Acme", 19_900),
    ("K-5", "Kitchen Chair", "Chairs", "Kumo", 4_900),
    ("K-6", "Ultralight Laptop", "Laptops", "Acme", 99_900),
    ("K-7", "Paper Notebook", "Stationery", "Pebble", 900),
    ("K-8", "Sneakers Cleaning Kit", "Care", "Lumen", 6_900),
];

async fn seed(app: &TestApp) -> Vec<i64> {
    let mut ids = Vec::new();
    for (sku, title, category, brand, price) in ROWS {
        let p = app
            .create_product(product_json(sku, title, category, brand, price))
            .await;
        ids.push(p["id"].as_i64().unwrap());
    }
    ids
}

fn skus(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {v}"))
        .iter()
        .map(|r| r["sku"].as_str().unwrap().to_owned())
        .collect()
}

fn field(v: &Value, key: &str) -> Vec<i64> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_i64().unwrap())
        .collect()
}

async fn put_synonyms(app: &TestApp, body: &Value) -> (u16, Value) {
    let r = app
        .client
        .put(app.url("/api/search/synonyms"))
        .bearer_auth(API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn sort_orders_are_total_and_part_of_the_cache_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = seed(&app).await;

    let (status, asc) = app.get_json("/api/search/text?q=&sort=price_asc").await;
    assert_eq!(status, 200, "{asc}");
    assert_eq!(asc["sort"], "price_asc");
    let prices = field(&asc, "price");
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    // Three products cost 69.00: an empty query scores all alike, so they come by id.
    let tied: Vec<i64> = asc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["price"] == 6_900)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(tied, vec![ids[1], ids[2], ids[7]]);

    // Served after price_asc was cached: another sort is another cache entry.
    let (_, desc) = app.get_json("/api/search/text?q=&sort=price_desc").await;
    assert!(
        desc["results"][0].get("highlight").is_none(),
        "nothing to mark for an empty query"
    );
    // A typo and a prefix are marked too, the rest escaped.
    let (_, typo) = app.get_json("/api/search/text?q=sneekers%20cit").await;
    assert_eq!(
        typo["results"][0]["highlight"]["title"], "<mark>City</mark> <mark>Sneakers</mark>",
        "{typo}"
    );
    let prices = field(&desc, "price");
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
    assert_eq!(skus(&desc)[0], "K-6");

    let (_, newest) = app.get_json("/api/search/text?q=&sort=newest").await;
    assert_eq!(
        field(&newest, "id"),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );

    // Paging through a sort neither repeats nor skips.
    let mut paged = Vec::new();
    for offset in 0..4 {
        let (_, page) = app
            .get_json(&format!(
                "/api/search/text?q=&sort=price_asc&limit=2&offset={}",
                offset * 2
            ))
            .await;
        paged.extend(skus(&page));
    }
    assert_eq!(paged, skus(&asc));

    // Relevance stays the default; the text query still decides which products match.
    let (_, rel) = app
        .get_json("/api/search/text?q=sneakers&sort=price_asc")
        .await;
    assert_eq!(skus(&rel)[..2], ["K-2".to_owned(), "K-3".to_owned()]);
    let (_, default) = app.get_json("/api/search/text?q=sneakers").await;
    assert_eq!(default["sort"], "relevance");

    let (status, body) = app
        .post_json(
            "/api/search/text",
            &json!({"query": "", "sort": "price_desc"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(skus(&body), skus(&desc));

    for bad in [
        "/api/search/text?q=x&sort=cheapest",
        "/api/search/text?q=x&sort=",
    ] {
        let (status, p) = app.get_json(bad).await;
        assert_eq!(
            (status, p["field"].as_str()),
            (400, Some("sort")),
            "{bad}: {p}"
        );
    }
    let (status, p) = app
        .post_json("/api/search/text", &json!({"query": "", "sort": "PRICE"}))
        .await;
    assert_eq!((status, p["field"].as_str()), (400, Some("sort")), "{p}");
    app.stop().await;
}

async fn facets_are_disjunctive_with_price_statistics(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;

    let (_, all) = app.get_json("/api/search/text?q=").await;
    assert_eq!(all["total"], 8);
    let (_, r) = app
        .get_json("/api/search/text?q=&brand=Acme&brand=Pebble&sort=price_asc")
        .await;
    // Either brand (OR within a facet).
    assert_eq!(skus(&r), ["K-7", "K-3", "K-1", "K-4", "K-6"]);
    // The brand facet ignores the brand filter: every brand keeps its count, so another
    // can be added; the category facet counts only the selected brands' products.
    assert_eq!(r["facets"]["brand"], all["facets"]["brand"]);
    assert_eq!(r["facets"]["category"]["Sneakers"], 2);
    assert_eq!(r["facets"]["category"]["Chairs"], 1);
    assert!(r["facets"]["category"].get("Care").is_none(), "{r}");

    // AND across facets.
    let (_, r) = app
        .get_json("/api/search/text?q=&brand=Acme&brand=Kumo&category=Chairs")
        .await;
    let mut got = skus(&r);
    got.sort();
    assert_eq!(got, ["K-4", "K-5"]);
    assert_eq!(r["facets"]["brand"]["Acme"], 1);
    assert!(r["facets"]["brand"].get("Pebble").is_none(), "{r}");
    assert_eq!(r["facets"]["category"]["Sneakers"], 2, "{r}");
    assert_eq!(r["facets"]["category"]["Laptops"], 1);

    // The body takes arrays or one string, and the same search in another order is the same.
    let (_, post) = app
        .post_json(
            "/api/search/text",
            &json!({"query": "", "brand": ["Kumo", "Acme"], "category": "Chairs"}),
        )
        .await;
    assert_eq!(post["total"], 2, "{post}");
    let (_, reordered) = app
        .get_json("/api/search/text?q=&category=Chairs&brand=Kumo&brand=Acme")
        .await;
    assert_eq!(skus(&reordered), skus(&r));

    // Price statistics: over the query with every filter but the price range.
    let (_, r) = app
        .get_json("/api/search/text?q=sneakers&price_max=7000")
        .await;
    let price = &r["facets"]["price"];
    assert_eq!(
        (price["min"].as_i64(), price["max"].as_i64()),
        (Some(6_900), Some(8_900)),
        "{r}"
    );
    let histogram = price["histogram"].as_array().unwrap();
    let counted: u64 = histogram.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    let (_, unfiltered) = app.get_json("/api/search/text?q=sneakers").await;
    assert_eq!(counted, unfiltered["total"].as_u64().unwrap());
    assert_eq!(histogram[0]["from"], 6_900);
    assert_eq!(histogram.last().unwrap()["to"], 8_900);
    assert_eq!(histogram.last().unwrap()["count"], 1);
    let (_, none) = app.get_json("/api/search/text?q=zzqqxx").await;
    assert_eq!(
        none["facets"]["price"],
        json!({"min": null, "max": null, "histogram": []})
    );

    // Bounded: 21 brands is a 400 naming the facet, before any search.
    let many: String = (0..21).map(|i| format!("&brand=B{i}")).collect();
    let (status, p) = app.get_json(&format!("/api/search/text?q={many}")).await;
    assert_eq!((status, p["field"].as_str()), (400, Some("brand")), "{p}");
    let brands: Vec<String> = (0..21).map(|i| format!("B{i}")).collect();
    let (status, p) = app
        .post_json(
            "/api/search/text",
            &json!({"query": "", "category": brands}),
        )
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (400, Some("category")),
        "{p}"
    );
    app.stop().await;
}

async fn synonyms_expand_queries_and_invalidate_cached_searches(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;

    let (_, empty) = app.get_json_auth("/api/search/synonyms").await;
    assert_eq!(
        empty,
        json!({"synonyms": [], "version": 0, "updated_at": null})
    );
    let r = app.get("/api/search/synonyms").await;
    assert_eq!(r.status(), 401);

    // Cached before the synonyms exist.
    let (_, before) = app.get_json("/api/search/text?q=trainers").await;
    assert_eq!(before["total"], 0, "{before}");
    let (_, before_notebook) = app.get_json("/api/search/text?q=notebook").await;
    assert_eq!(skus(&before_notebook), ["K-7"]);

    let body = json!({"synonyms": [
        {"terms": ["sneakers", "trainers", "running shoes"]},
        {"from": "notebook", "to": ["laptop"]},
    ]});
    let (status, put) = put_synonyms(&app, &body).await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["version"], 1);
    let (_, got) = app.get_json_auth("/api/search/synonyms").await;
    assert_eq!(got["synonyms"], body["synonyms"]);

    // The cached empty answer is gone: "trainers" finds the sneakers, and marks the word the
    // synonym matched.
    let (_, r) = app.get_json("/api/search/text?q=trainers").await;
    let marked = r["results"][0]["highlight"]["title"]
        .as_str()
        .unwrap_or_default();
    assert!(marked.contains("<mark>Sneakers</mark>"), "{r}");
    let found = skus(&r);
    assert!(found.len() >= 3, "{r}");
    for sku in ["K-1", "K-2", "K-3"] {
        assert!(found.contains(&sku.to_owned()), "{sku} in {found:?}");
    }
    // Multi-word terms match as a phrase; a singular form matches through stemming.
    let (_, r) = app
        .get_json("/api/search/text?q=running%20shoes%20city")
        .await;
    assert_eq!(skus(&r)[0], "K-2", "{r}");
    let (_, r) = app.get_json("/api/search/text?q=trainer%20road").await;
    assert_eq!(skus(&r)[0], "K-3", "{r}");
    // One way: notebook finds the laptop too, laptop does not find the notebook.
    let (_, r) = app.get_json("/api/search/text?q=notebook").await;
    let mut found = skus(&r);
    found.sort();
    assert_eq!(found, ["K-6", "K-7"]);
    let (_, r) = app.get_json("/api/search/text?q=laptop").await;
    assert_eq!(skus(&r), ["K-6"]);

    // Refused sets name the field, and the stored set stays in force.
    for (bad, field) in [
        (
            json!({"synonyms": [{"from": "a1", "to": ["b1"]}, {"from": "b1", "to": ["a1"]}]}),
            "synonyms.from",
        ),
        (
            json!({"synonyms": [{"terms": ["x1", "y1"]}, {"terms": ["y1", "z1"]}]}),
            "synonyms.terms",
        ),
        (json!({"synonyms": [{"terms": ["only"]}]}), "synonyms.terms"),
        (
            json!({"synonyms": [{"terms": ["x1", "y1"], "from": "x1"}]}),
            "synonyms",
        ),
        (
            json!({"synonyms": [{"terms": ["x1", "y".repeat(65)]}]}),
            "synonyms.terms",
        ),
        (
            json!({"synonyms": [{"from": "x1", "to": []}]}),
            "synonyms.to",
        ),
        (
            json!({"synonyms": (0..1001).map(|i| json!({"from": format!("f{i}"), "to": ["g"]})).collect::<Vec<_>>()}),
            "synonyms",
        ),
    ] {
        let (status, p) = put_synonyms(&app, &bad).await;
        assert_eq!(
            (status, p["field"].as_str()),
            (400, Some(field)),
            "{bad}: {p}"
        );
    }
    let (_, got) = app.get_json_auth("/api/search/synonyms").await;
    assert_eq!(got["version"], 1);
    let r = app
        .client
        .put(app.url("/api/search/synonyms"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Replacing the set replaces it whole.
    let (status, put) = put_synonyms(&app, &json!({"synonyms": []})).await;
    assert_eq!((status, put["version"].as_i64()), (200, Some(2)));
    let (_, r) = app.get_json("/api/search/text?q=trainers").await;
    assert_eq!(r["total"], 0, "{r}");
    app.stop().await;
}

async fn wait_for(app: &TestApp, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = app.get_json(path).await;
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path}: still {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two instances on one database without Redis: the second loads synonyms stored through the
/// first in its sync loop, and drops the search it had cached before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synonyms_reach_another_instance_through_the_sync_loop() {
    let extra = [("SEARCH_SYNC_INTERVAL", "200ms")];
    let a = spawn_app_with(Backend::Sqlite, &extra).await;
    let b = spawn_on(a.database_url.clone(), tempfile::tempdir().unwrap(), &extra).await;
    seed(&a).await;
    let search = "/api/search/text?q=trainers";
    wait_for(&b, "/api/search/text?q=sneakers", |v| v["total"] == 4).await;
    let (_, v) = b.get_json(search).await;
    assert_eq!(v["total"], 0);
    let (status, _) = put_synonyms(
        &a,
        &json!({"synonyms": [{"terms": ["sneakers", "trainers"]}]}),
    )
    .await;
    assert_eq!(status, 200);
    let v = wait_for(&b, search, |v| v["total"].as_u64() >= Some(3)).await;
    assert!(skus(&v).contains(&"K-1".to_owned()), "{v}");
    a.stop().await;
    b.stop().await;
}
