use serde_json::json;

use crate::helpers::{Backend, product_json, spawn_app};
use crate::on_both_backends;

on_both_backends!(relevance_typos_prefix_filters_facets, post_body_matches_get);

async fn seed(app: &crate::helpers::TestApp) {
    for (i, (title, category, brand, price)) in [
        ("Ultralight Laptop 14", "Laptops", "Acme", 129_900),
        ("Gaming Laptop 17", "Laptops", "Veloce", 249_900),
        ("Laptop Sleeve", "Bags", "Pebble", 2_900),
        ("Wireless Headphones", "Headphones", "Kumo", 19_900),
        ("Coffee Mug", "Mugs", "Pebble", 1_200),
        ("Desk Lamp", "Lamps", "Lumen", 4_900),
    ]
    .into_iter()
    .enumerate()
    {
        app.create_product(product_json(
            &format!("S-{i}"),
            title,
            category,
            brand,
            price,
        ))
        .await;
    }
}

fn titles(v: &serde_json::Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn relevance_typos_prefix_filters_facets(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;

    let (status, r) = app.get_json("/api/search/text?q=laptop").await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["total"], 3);
    // Title matches rank above description-only matches; the sleeve (also a title hit) is
    // there too, and the facets count every hit.
    assert_eq!(r["facets"]["category"]["Laptops"], 2);
    assert_eq!(r["facets"]["category"]["Bags"], 1);
    assert_eq!(r["facets"]["brand"]["Acme"], 1);
    assert!(r["results"][0]["score"].as_f64().unwrap() > 0.0);
    assert!(r["took_ms"].is_number());

    // A transposition typo still finds laptops.
    let (_, r) = app.get_json("/api/search/text?q=lapotp").await;
    assert!(titles(&r).iter().any(|t| t.contains("Laptop")), "{r}");
    // Search as you type: a prefix of the last term.
    let (_, r) = app.get_json("/api/search/text?q=lap").await;
    assert!(titles(&r).iter().any(|t| t.contains("Laptop")), "{r}");
    let (_, r) = app.get_json("/api/search/text?q=wireless%20head").await;
    assert_eq!(titles(&r), vec!["Wireless Headphones"], "{r}");
    // Short terms get no typo budget: "mug" must not match "mag…" style noise.
    let (_, r) = app.get_json("/api/search/text?q=mug").await;
    assert_eq!(titles(&r), vec!["Coffee Mug"]);

    // Filters narrow.
    let (_, r) = app
        .get_json("/api/search/text?q=laptop&category=Laptops")
        .await;
    assert_eq!(r["total"], 2);
    let (_, r) = app
        .get_json("/api/search/text?q=laptop&price_max=200000")
        .await;
    assert_eq!(r["total"], 2, "{r}");
    let (_, r) = app
        .get_json("/api/search/text?q=laptop&brand=Veloce&price_min=200000")
        .await;
    assert_eq!(titles(&r), vec!["Gaming Laptop 17"]);
    // An empty query browses with filters.
    let (_, r) = app.get_json("/api/search/text?category=Mugs").await;
    assert_eq!(r["total"], 1);

    // Limit is bounded.
    let (status, p) = app.get_json("/api/search/text?q=laptop&limit=0").await;
    assert_eq!(status, 400, "{p}");
    let (status, _) = app.get_json("/api/search/text?q=laptop&limit=101").await;
    assert_eq!(status, 400);
    let (_, r) = app.get_json("/api/search/text?q=laptop&limit=1").await;
    assert_eq!(r["results"].as_array().unwrap().len(), 1);
    assert_eq!(r["total"], 3);
    // Nonsense finds nothing, and that is not an error.
    let (status, r) = app.get_json("/api/search/text?q=zzqqxx").await;
    assert_eq!((status, r["total"].as_u64()), (200, Some(0)));
    app.stop().await;
}

async fn post_body_matches_get(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let (status, post) = app
        .post_json(
            "/api/search/text",
            &json!({"query": "laptop computer", "limit": 20, "use_cache": true}),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    assert_eq!(post["query"], "laptop computer");
    let (status, post) = app
        .post_json(
            "/api/search/text",
            &json!({"query": "laptop", "limit": 20, "filters": {"category": "Laptops"}}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, get) = app
        .get_json("/api/search/text?q=laptop&limit=20&category=Laptops")
        .await;
    assert_eq!(titles(&post), titles(&get));
    let (status, p) = app
        .post_json("/api/search/text", &json!({"query": "x", "limit": 500}))
        .await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("limit"));
    app.stop().await;
}
