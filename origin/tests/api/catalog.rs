//! The catalog's order of propagation (database → text index → visual → cache): a write
//! followed at once by a read through a warm cache shows the new state, never the old
//! product or an old search result. Each write path is covered: create, update, delete, bulk
//! upsert, the import and demo seeding.

use serde_json::{Value, json};

use crate::helpers::{API_KEY, Backend, TestApp, product_json, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    api_writes_show_at_once_through_a_warm_cache,
    import_and_demo_seeding_show_at_once_through_a_warm_cache
);

/// `GET path` twice: the second read must come from the cache (so the read after the
/// write would return the old entry if the write did not invalidate it).
async fn warm(app: &TestApp, path: &str) -> Value {
    let (status, first) = app.get_json(path).await;
    let r = app.get(path).await;
    assert_eq!(header(&r, "x-cache"), "HIT-L1", "{path} is not cached");
    let second: Value = r.json().await.unwrap();
    assert_eq!(first, second);
    assert!(status == 200 || status == 404, "{path}: {status} {first}");
    first
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn search(word: &str) -> String {
    format!("/api/search/text?q={word}")
}

async fn put(app: &TestApp, id: i64, body: &Value) -> Value {
    let r = app
        .client
        .put(app.url(&format!("/api/products/{id}")))
        .bearer_auth(API_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn api_writes_show_at_once_through_a_warm_cache(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .create_product(product_json(
            "L-1",
            "Brass Lantern",
            "Lamps",
            "Lumen",
            4_900,
        ))
        .await;
    let id = created["id"].as_i64().unwrap();
    let product = format!("/api/products/{id}");

    // Update: the product and every search that held it.
    assert_eq!(warm(&app, &product).await["title"], "Brass Lantern");
    assert_eq!(warm(&app, &search("brass")).await["total"], 1);
    assert_eq!(warm(&app, &search("copper")).await["total"], 0);
    put(
        &app,
        id,
        &product_json("L-1", "Copper Lantern", "Lamps", "Lumen", 5_900),
    )
    .await;
    let (_, v) = app.get_json(&product).await;
    assert_eq!(
        (v["title"].clone(), v["price"].clone()),
        (json!("Copper Lantern"), json!(5_900))
    );
    assert_eq!(app.get_json(&search("brass")).await.1["total"], 0);
    let (_, v) = app.get_json(&search("copper")).await;
    assert_eq!(
        (v["total"].clone(), v["results"][0]["price"].clone()),
        (json!(1), json!(5_900))
    );

    // Write after write, each read at once after its write.
    for price in 6_000..6_010 {
        warm(&app, &product).await;
        warm(&app, &search("lantern")).await;
        put(
            &app,
            id,
            &product_json("L-1", "Copper Lantern", "Lamps", "Lumen", price),
        )
        .await;
        assert_eq!(app.get_json(&product).await.1["price"], price);
        assert_eq!(
            app.get_json(&search("lantern")).await.1["results"][0]["price"],
            price
        );
    }

    // Create: a search cached while the product did not exist.
    assert_eq!(warm(&app, &search("kettle")).await["total"], 0);
    let kettle = app
        .create_product(product_json(
            "K-1",
            "Brass Kettle",
            "Kitchen",
            "Acme",
            2_900,
        ))
        .await;
    let (_, v) = app.get_json(&search("kettle")).await;
    assert_eq!(
        (v["total"].clone(), v["results"][0]["id"].clone()),
        (json!(1), kettle["id"].clone())
    );

    // Bulk upsert by sku.
    warm(&app, &product).await;
    assert_eq!(warm(&app, &search("silver")).await["total"], 0);
    let line = product_json("L-1", "Silver Lantern", "Lamps", "Lumen", 7_900);
    let r = app
        .client
        .post(app.url("/api/products/bulk"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/x-ndjson")
        .body(format!("{line}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get_json(&product).await.1["title"], "Silver Lantern");
    assert_eq!(app.get_json(&search("silver")).await.1["total"], 1);
    assert_eq!(app.get_json(&search("copper")).await.1["total"], 0);

    // Delete.
    warm(&app, &product).await;
    assert_eq!(warm(&app, &search("lantern")).await["total"], 1);
    let r = app
        .client
        .delete(app.url(&product))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_json(&product).await.0, 404);
    assert_eq!(app.get_json(&search("lantern")).await.1["total"], 0);
    app.stop().await;
}

async fn import_and_demo_seeding_show_at_once_through_a_warm_cache(backend: Backend) {
    use vitrine_origin::catalog::{demo, import};

    let app = spawn_app(backend).await;
    let created = app
        .create_product(product_json("H-1", "Old Harp", "Music", "Orbit", 99_900))
        .await;
    let product = format!("/api/products/{}", created["id"]);

    // An import through the serving catalog propagates each batch like any write.
    assert_eq!(warm(&app, &product).await["title"], "Old Harp");
    assert_eq!(warm(&app, &search("harpsichord")).await["total"], 0);
    let rows = [
        product_json("H-1", "Concert Harp", "Music", "Orbit", 89_900),
        product_json("H-2", "Harpsichord", "Music", "Orbit", 199_900),
    ]
    .map(|p| p.to_string())
    .join("\n");
    let s = import::import_reader(
        &app.state.catalog,
        std::io::Cursor::new(rows.into_bytes()),
        import::Format::Ndjson,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((s.inserted, s.updated, s.rejected), (1, 1, 0));
    assert_eq!(app.get_json(&product).await.1["title"], "Concert Harp");
    assert_eq!(app.get_json(&search("harpsichord")).await.1["total"], 1);

    // Demo seeding too (demo product 0 is a laptop).
    assert_eq!(warm(&app, &search("laptop")).await["total"], 0);
    demo::seed(&app.state.catalog, &app.state.thumbs, 1, false)
        .await
        .unwrap();
    assert_eq!(app.get_json(&search("laptop")).await.1["total"], 1);
    app.stop().await;
}
