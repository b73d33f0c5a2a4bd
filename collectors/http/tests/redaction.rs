//! Secrets a health endpoint sends back never reach the evidence: the collector redacts
//! the body, each header beside its name, the URL a redirect led to and the certificate's
//! names where it reads them, before it parses the body, matches it or cuts its excerpt.
//! Against a real HTTP server on 127.0.0.1.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use witness_collector::{CollectContext, CollectorConfig};
use witness_http::HttpConfig;
use witness_net::seeds::{self, Secret};
use witness_net::testing::serve;

/// A health endpoint behind a redirect whose query string holds a token, answering 503
/// with an Actuator body whose down component quotes a secret of every class (one of
/// them across the excerpt's cut), secret-named JSON fields with string, array and
/// object values, and secrets in `Set-Cookie`, an echoed `Authorization` and a custom
/// header.
#[tokio::test]
async fn secrets_in_bodies_headers_and_redirects_never_reach_the_evidence() {
    for seed in [3, 4] {
        let mut seeded = seeds::secrets(seed);
        let (fields, field_secrets) = seeds::json_fields(seed);
        let by = |class: &str| seeded.iter().find(|s| s.class == class).unwrap().clone();
        let (aws_key, ghp, jwt, bearer, kv) = (
            by("aws_secret_access_key"),
            by("github_token"),
            by("jwt"),
            by("bearer_token"),
            by("key_value"),
        );
        // One line, as a health body joins its errors: each secret is found after a bearer
        // token on the same line, quotes and all.
        let error: Vec<String> = seeded.iter().map(|s| s.text.clone()).collect();
        let body = format!(
            r#"{{"note": "{aws}", "status": "DOWN", "components": {{"db": {{"status": "DOWN", "details": {{"error": "{error}", "extra": [{fields}]}}}}}}}}"#,
            aws = aws_key.text,
            error = error.join("; "),
            fields = fields.join(", "),
        );
        // The excerpt of the body as sent would end inside the AWS secret.
        let cut = body.find(&aws_key.value).unwrap() + 20;
        let location = format!("/v2/health?ref={}&password={}", ghp.value, kv.value);
        let headers = [
            ("set-cookie", format!("session={}; HttpOnly", jwt.value)),
            ("authorization", format!("Bearer {}", bearer.value)),
            ("x-upstream", format!("token={}", ghp.value)),
        ];
        let app = Router::new()
            .route("/health", get(move || async move { Redirect::temporary(&location) }))
            .route(
                "/v2/health",
                get(move || {
                    let (body, headers) = (body.clone(), headers.clone());
                    async move {
                        let mut response: Response =
                            (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
                        for (name, value) in headers {
                            response.headers_mut().insert(
                                HeaderName::from_static(name),
                                HeaderValue::from_str(&value).unwrap(),
                            );
                        }
                        response
                    }
                }),
            );
        let addr = serve(app).await;
        let mut config = HttpConfig::new("api", format!("http://{addr}/health"));
        config.probes = 2;
        config.probe_interval_ms = 10;
        config.max_excerpt_bytes = cut;
        config.keep_headers = ["set-cookie", "authorization", "x-upstream", "content-type"]
            .map(String::from)
            .to_vec();
        let ctx = CollectContext::for_test();
        let collector = config.build().unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(20), collector.collect(&ctx))
            .await
            .expect("collected within 20 s")
            .expect("evidence");

        // The places the secrets could leak through are there.
        let probe = &ev.data["probes"][0];
        assert!(probe["redirected_to"].as_str().unwrap().contains("/v2/health?"), "{probe:#}");
        assert_eq!(probe["headers"].as_object().unwrap().len(), 4, "{probe:#}");
        assert!(probe["body_excerpt"].is_string(), "{probe:#}");
        assert_eq!(ev.facts["http.components_down"], vec!["db".to_owned()].into());
        seeded.extend(field_secrets.iter().cloned());
        seeded.push(Secret { class: "location", value: ghp.value.clone(), text: String::new() });
        seeds::assert_none_survive(
            "the http evidence and artifacts",
            &seeds::everything(&ev, &ctx),
            &seeded,
        );
    }
}
