//! End-to-end tests of the `kubernetes` collector over real HTTP.
//!
//! No Kubernetes API server can run on these machines, so each test starts the fake in
//! [`fake_api`], which speaks the real API on 127.0.0.1 port 0, and the collector reaches
//! it through a real `kube::Client` built from a kubeconfig file (bearer token, a chosen
//! context), not a tower mock: kube's request path, auth header and error handling are
//! what is tested.

mod collect;
mod fake_api;
mod fixtures;
mod pod_logs;
mod rbac;
mod redaction;
