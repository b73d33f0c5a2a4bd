//! `witness serve`: the sidecar triggered by alert webhooks.

use serde::Deserialize;

/// `[server]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:9848`); `--listen` overrides it.
    #[serde(default)]
    pub listen: Option<String>,
}

impl ServerConfig {
    /// Every problem, each with its key relative to `[server]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Some(listen) = &self.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            problems.push((
                "listen".into(),
                format!("{listen:?} is not an address like 127.0.0.1:9848"),
            ));
        }
        problems
    }
}

/// `witness serve`.
pub async fn serve(
    _config: Option<std::path::PathBuf>,
    _listen: Option<String>,
) -> anyhow::Result<()> {
    anyhow::bail!("`witness serve` is not available in this build yet")
}
