//! The load test's floor: an axum route that returns a fixed JSON body, on the
//! same runtime settings as the server. `cargo run --release -p seccode-server
//! --example floor -- 127.0.0.1:8090`

use axum::Router;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = Router::new().route(
        "/floor",
        post(|| async {
            (
                [("content-type", "application/json")],
                r#"{"status":"pending","valid":false}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
