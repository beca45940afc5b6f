//! The origin behind a real PgBouncer in transaction mode (`DATABASE_POOLER=pgbouncer`): every
//! kind of statement the catalog runs works while its client connections take turns on fewer
//! server connections than it has, so a statement prepared on one server connection is
//! executed on another.

use futures::future::join_all;
use serde_json::json;
use sqlx::Connection as _;
use vitrine_origin::db::Pool;
use vitrine_testkit::{
    PgBouncer, fresh_postgres, pgbouncer::SERVER_POOL_SIZE, postgres::admin_url, temp_dir,
};

use crate::helpers::{API_KEY, product_json, spawn_on};

const PRODUCTS: usize = 40;

#[tokio::test]
async fn the_catalog_works_through_pgbouncer_in_transaction_mode() {
    let direct = fresh_postgres().await;
    let bouncer = PgBouncer::start(&admin_url());
    let pooled = bouncer.rewrite(&direct);
    assert_ne!(pooled, direct);

    // The first instance migrates over the direct URL (with sqlx's advisory lock); the
    // second starts on the migrated database through PgBouncer alone.
    let first = spawn_on(
        pooled.clone(),
        temp_dir(),
        &[
            ("DATABASE_POOLER", "pgbouncer"),
            ("DATABASE_DIRECT_URL", &direct),
            ("CONNECTION_POOL_SIZE", "10"),
            ("CONNECTION_POOL_MIN", "0"),
        ],
    )
    .await;
    let app = spawn_on(
        pooled.clone(),
        temp_dir(),
        &[
            ("DATABASE_POOLER", "pgbouncer"),
            ("CONNECTION_POOL_SIZE", "10"),
            ("CONNECTION_POOL_MIN", "0"),
        ],
    )
    .await;
    first.stop().await;

    // Concurrent creates, reads, updates and deletes: more client connections than
    // PgBouncer has server connections.
    let created: Vec<serde_json::Value> = join_all((0..PRODUCTS).map(|i| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/api/products"))
                .bearer_auth(API_KEY)
                .json(&product_json(
                    &format!("PGB-{i}"),
                    &format!("Pooled lamp {i}"),
                    "Lamps",
                    "Acme",
                    1_000 + i as i64,
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                201,
                "create {i}: {}",
                r.text().await.unwrap_or_default()
            );
            r.json().await.unwrap()
        }
    }))
    .await;
    let reads = join_all(created.iter().map(|p| {
        let app = &app;
        async move { app.get_json(&format!("/api/products/{}", p["id"])).await }
    }))
    .await;
    for ((status, body), p) in reads.iter().zip(&created) {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["sku"], p["sku"]);
    }
    let updates = join_all(created.iter().take(10).map(|p| {
        let app = &app;
        async move {
            let mut changed = product_json(
                p["sku"].as_str().unwrap(),
                "Pooled lamp, changed",
                "Lamps",
                "Acme",
                7,
            );
            changed["attributes"] = json!({"colour": "green"});
            app.client
                .put(app.url(&format!("/api/products/{}", p["id"])))
                .bearer_auth(API_KEY)
                .json(&changed)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    assert!(updates.iter().all(|s| *s == 200), "{updates:?}");
    let r = app
        .client
        .delete(app.url(&format!("/api/products/{}", created[PRODUCTS - 1]["id"])))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // Bulk upsert (one transaction of many statements) and paging.
    let ndjson: String = (0..25)
        .map(|i| {
            format!(
                "{}\n",
                product_json(&format!("BULK-{i}"), "Bulk vase", "Vases", "Acme", 500)
            )
        })
        .collect();
    let r = app
        .client
        .post(app.url("/api/products/bulk"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["inserted"], 25, "{report}");
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/products?limit=20&cursor={c}"),
            None => "/api/products?limit=20".to_owned(),
        };
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        seen += page["products"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, PRODUCTS - 1 + 25);

    // The origin held more connections than Postgres saw from PgBouncer: the statements above
    // really were multiplexed.
    let Pool::Postgres(pool) = &app.state.db.pool else {
        panic!("expected a Postgres pool");
    };
    let client_connections = pool.size();
    let mut admin = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    let db_name = direct.rsplit('/').next().unwrap().to_owned();
    let server_connections: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
    )
    .bind(&db_name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    println!(
        "origin pool: {client_connections} connections; Postgres saw {server_connections} from PgBouncer"
    );
    assert!(
        server_connections <= i64::from(SERVER_POOL_SIZE),
        "{server_connections} server connections"
    );
    assert!(
        client_connections > SERVER_POOL_SIZE,
        "the pool stayed at {client_connections}"
    );
    app.stop().await;
}
