//! The command line: every command and flag of DESIGN.md, parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// witness — evidence for production incidents: collect, seal, verify.
#[derive(Debug, Parser)]
#[command(name = "witness", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format of witness's own logs on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect evidence now, or for a moment in the past, and seal a bundle.
    Collect {
        #[command(subcommand)]
        when: CollectWhen,
    },
    /// Run the daemon: webhooks from Alertmanager, Grafana and PagerDuty start runs.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Address to listen on (default from [server] listen, else 127.0.0.1:9848).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check a bundle (directory, .tar.gz, `s3://bucket/prefix/ID`, or an ID with
    /// --store): every hash, the root hash, the signature.
    Verify {
        bundle: PathBuf,
        /// Public key (from `witness keygen`) the signature must match.
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Show a bundle's recommendation, timeline and collectors.
    Show {
        bundle: PathBuf,
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
        /// Print status-page drafts instead, plain and free of internal detail: every stage
        /// the evidence supports (investigating; identified once a cause is likely;
        /// monitoring once a follow-up exists; resolved once its checks all passed).
        #[arg(long, conflicts_with = "format")]
        status_update: bool,
        /// Only this stage's draft (refused when the evidence does not support it yet).
        #[arg(long, value_enum, requires = "status_update")]
        stage: Option<StageArg>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// Draft a postmortem from a verified bundle (and its follow-up): the usual template,
    /// every statement citing the evidence in the bundle, blanks for what only people know.
    Postmortem {
        bundle: PathBuf,
        /// The follow-up bundle of the incident (`collect now --follow-up`): its checks and
        /// the time to resolve go in the draft.
        #[arg(long, value_name = "BUNDLE")]
        follow_up: Option<PathBuf>,
        /// Write the draft to FILE (whole or not at all) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = DraftFormat::Md)]
        format: DraftFormat,
        /// Public key (from `witness keygen`) the bundles' signatures must match.
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArg,
    },
    /// List the bundles in the store, newest first.
    List {
        #[command(flatten)]
        store: StoreArg,
        /// At most this many bundles, the newest (an object store is listed by day, newest
        /// first, so a large store is not listed whole).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Check or test hypothesis rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Record the true cause of a sealed bundle's incident beside it (never inside it), so
    /// the store becomes a corpus for `witness rules eval`.
    Label {
        bundle: PathBuf,
        /// The cause: rollout, deploy_tag, migration, config_change, vendor_incident,
        /// capacity_ceiling, host_saturation, connection_ceiling, lock_blocker,
        /// certificate_expiry, disk_full, oom, traffic_surge, or none (nothing abnormal).
        #[arg(long)]
        cause: String,
        /// The class the case counts in (default: the cause), e.g. `decoy_deploy`.
        #[arg(long)]
        class: Option<String>,
    },
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Make an ed25519 key pair for signing bundles: PREFIX.key and PREFIX.pub.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CollectWhen {
    /// Anchor the run at this moment.
    Now {
        #[command(flatten)]
        args: CollectArgs,
    },
    /// Anchor the run at a moment in the past (RFC 3339, e.g. 2025-11-19T21:00:00Z).
    At {
        anchor: String,
        #[command(flatten)]
        args: CollectArgs,
    },
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// How far before the anchor to look, e.g. 30m, 2h (default from [collect]).
    #[arg(long)]
    pub since: Option<String>,
    /// Only these collector kinds, comma-separated (e.g. logs,postgres).
    #[arg(long, value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// A label for the run, as an alert would carry it (repeatable): --label service=checkout
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// The alert rule's source link, as the alert carries it in `generatorURL` (the
    /// "Source" link of an Alertmanager or Grafana notification): the `prometheus`
    /// collectors evaluate the rule's expression from it, as for an alert that came in.
    #[arg(long, value_name = "URL")]
    pub generator_url: Option<String>,
    /// Directory to write the bundle into (default from [store] dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the bundle as <id>.tar.gz beside it.
    #[arg(long)]
    pub archive: bool,
    /// Follow up on the incident of BUNDLE (a directory or .tar.gz) after it resolved:
    /// collect over the window after the resolution (`collect now`: from now, waiting
    /// [follow_up] window_secs; `--since 10m`: the fix was 10 minutes ago, collect at once;
    /// `collect at T`: from T) and check what changed against BUNDLE, which stays untouched.
    #[arg(long, value_name = "BUNDLE")]
    pub follow_up: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Where a reader reads bundles from.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// The object store to read (`s3://bucket/prefix`, `gs://…`, `az://…`, `file:///dir`);
    /// its endpoint, region and credentials come from the config's [store] (default: the
    /// config's [store] url, else its local dir).
    #[arg(long)]
    pub store: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file (default: $WITNESS_CONFIG, else ./witness.toml when it exists,
    /// else built-in defaults).
    #[arg(long, env = "WITNESS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Md,
    Json,
}

/// The format of a postmortem draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DraftFormat {
    Md,
    Html,
}

/// A stage of a status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check rule files: syntax, CEL conditions, fact names (default: the configured rules).
    Check {
        files: Vec<PathBuf>,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Re-evaluate the rules over a bundle's evidence (or a case directory of
    /// `trigger.json` and `evidence/`, as `rules eval` reads) and show what fired and why.
    Test {
        #[arg(long)]
        bundle: PathBuf,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Measure the rules over the labelled bundles of DIR: per-class top-1 accuracy, the
    /// confusion matrix and calibration.
    Eval {
        dir: PathBuf,
        /// Fail (exit status 1) unless every class reaches PERCENT top-1, `high` is right
        /// at least PERCENT of the time, and no false alarm or decoy deploy recommends
        /// acting: the check CI runs.
        #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
        floor: Option<u8>,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate the configuration; print what would run.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
}
