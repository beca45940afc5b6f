use serde_json::json;

use crate::helpers::{API_KEY, Backend, product_json, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    crud_round_trip,
    cursor_pagination_visits_every_product,
    bulk_ndjson_upserts_and_reports,
    writes_need_a_valid_key,
    duplicate_sku_is_a_conflict
);

async fn crud_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .create_product(product_json(
            "LAP-1",
            "Ultralight Laptop",
            "Laptops",
            "Acme",
            129_900,
        ))
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["sku"], "LAP-1");
    assert_eq!(created["price"], 129_900);
    assert_eq!(created["attributes"]["colour"], "black");
    assert!(created["image_id"].is_null());
    assert!(created["created_at"].is_string());

    let (status, fetched) = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);

    let mut changed = product_json("LAP-1", "Ultralight Laptop 2", "Laptops", "Acme", 99_900);
    changed["attributes"] = json!({"colour": "silver"});
    let r = app
        .client
        .put(app.url(&format!("/api/products/{id}")))
        .bearer_auth(API_KEY)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: serde_json::Value = r.json().await.unwrap();
    assert_eq!(updated["title"], "Ultralight Laptop 2");
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_ne!(updated["updated_at"], created["updated_at"]);

    // The search index follows the write at once.
    let (_, found) = app.get_json("/api/search/text?q=ultralight").await;
    assert_eq!(found["results"][0]["price"], 99_900);

    let r = app
        .client
        .delete(app.url(&format!("/api/products/{id}")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, problem) = app.get_json(&format!("/api/products/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(problem["status"], 404);
    let (_, found) = app.get_json("/api/search/text?q=ultralight").await;
    assert_eq!(found["total"], 0);
    app.stop().await;
}

async fn cursor_pagination_visits_every_product(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..7 {
        app.create_product(product_json(
            &format!("P-{i}"),
            &format!("Item {i}"),
            "Mugs",
            "Pebble",
            1000 + i,
        ))
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/products?limit=3&cursor={c}"),
            None => "/api/products?limit=3".to_owned(),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for p in page["products"].as_array().unwrap() {
            seen.push(p["sku"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..7).map(|i| format!("P-{i}")).collect::<Vec<_>>());
    let (status, _) = app.get_json("/api/products?cursor=garbage").await;
    assert_eq!(status, 400);
    app.stop().await;
}

async fn bulk_ndjson_upserts_and_reports(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = String::new();
    for i in 0..50 {
        body.push_str(
            &product_json(
                &format!("B-{i}"),
                &format!("Bottle {i}"),
                "Bottles",
                "Orbit",
                1500,
            )
            .to_string(),
        );
        body.push('\n');
    }
    body.push_str("{\"sku\": \"BAD\", \"price\": -1}\n");
    let send = |body: String| {
        app.client
            .post(app.url("/api/products/bulk"))
            .bearer_auth(API_KEY)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    let r: serde_json::Value = send(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(r["inserted"], 50, "{r}");
    assert_eq!(r["rejected"], 1);
    assert_eq!(r["errors"][0]["line"], 51);
    // Idempotent: the same body again changes nothing.
    let r: serde_json::Value = send(body).await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            r["inserted"].as_u64(),
            r["updated"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(50)),
        "{r}"
    );
    // A changed row is an update.
    let one = product_json("B-3", "Bottle three", "Bottles", "Orbit", 1600).to_string();
    let r: serde_json::Value = send(one).await.unwrap().json().await.unwrap();
    assert_eq!(r["updated"], 1, "{r}");
    let (_, found) = app.get_json("/api/search/text?q=bottle&limit=100").await;
    assert_eq!(found["total"], 50);
    // Wrong content type.
    let r = app
        .client
        .post(app.url("/api/products/bulk"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    app.stop().await;
}

async fn writes_need_a_valid_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = product_json("K-1", "Keyed", "Mugs", "Acme", 100);
    let r = app
        .client
        .post(app.url("/api/products"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app
        .client
        .post(app.url("/api/products"))
        .bearer_auth("wrong-key-000000")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for path in ["/api/products/1"] {
        let r = app.client.delete(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = app
            .client
            .put(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (status, list) = app.get_json("/api/products").await;
    assert_eq!(status, 200);
    assert_eq!(list["products"].as_array().unwrap().len(), 0);
    app.stop().await;
}

async fn duplicate_sku_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_product(product_json("DUP", "One", "Mugs", "Acme", 100))
        .await;
    let (status, problem) = app
        .post_json(
            "/api/products",
            &product_json("DUP", "Two", "Mugs", "Acme", 100),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("DUP"));
    app.stop().await;
}
