//! The `entreposto` binary: `serve`, the admin commands, and `demo`.
//!
//! Admin commands talk to the database directly, so they work whether or not a server
//! is running (SQLite's WAL lets both write safely). Their output is JSON on stdout;
//! logs go to stderr.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use entreposto::mounts::{issue_credential, issue_limited_credential};
use entreposto_domain::{Document, Operator, RateLimit, Seller, Timestamp};
use entreposto_store::new_id;
use entreposto_store::sealing::LostSecrets;

use entreposto::config::Config;

/// mimalloc: request handling allocates many small, short-lived buffers; glibc's
/// allocator showed up at ~12% of CPU under load, mimalloc cuts most of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use entreposto::{demo, store};

#[derive(Parser)]
#[command(
    name = "entreposto",
    version,
    about = "Self-hosted marketplace integration hub"
)]
struct Cli {
    /// Configuration file (TOML). Default: $ENTREPOSTO_CONFIG, else ./entreposto.toml if present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database: a SQLite file path (default entreposto.db) or a postgres:// URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage operators.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Manage sellers.
    #[command(subcommand)]
    Seller(SellerCmd),
    /// Manage credentials.
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// Manage sellers' catalogs.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Reconcile sellers' orders against the marketplaces' payout statements.
    #[command(subcommand)]
    Recon(ReconCmd),
    /// Manage webhook endpoints and their deliveries.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// The key stored secrets are sealed under (`[secrets]`).
    #[command(subcommand)]
    Secrets(SecretsCmd),
    /// Fill the database with a realistic operator, sellers with credentials and
    /// catalogs, and orders.
    Demo {
        /// How many orders to create.
        #[arg(long, default_value_t = 200)]
        orders: u64,
        /// How many sellers to spread them over.
        #[arg(long, default_value_t = 3)]
        sellers: usize,
        /// How many customer-service tickets (one per order, on the first orders;
        /// default a quarter of the orders). About one in ten is an instance.
        #[arg(long)]
        tickets: Option<u64>,
        /// How many products in each seller's catalog (categories, brands, simples,
        /// groups of sizes, kits); orders name them.
        #[arg(long, default_value_t = 2000)]
        products: u64,
    },
}

#[derive(Subcommand)]
enum SecretsCmd {
    /// Print a new random key for `[secrets] key` (the database is not opened).
    NewKey,
    /// Reseal every stored secret not yet under `[secrets] key` and say how many
    /// were (every command that opens the database does this first; this one does
    /// nothing else).
    Reseal {
        /// The id of a key lost for good (the error naming a value that does not open
        /// gives it): replace what it sealed instead of stopping. Such endpoints get a
        /// new secret and are disabled (rotate, give the receiver the new secret, then
        /// enable them; events meanwhile are skipped, `webhook recover` resends them),
        /// such feeds lose their headers and are disabled, such kept responses go.
        #[arg(long, value_name = "KEY_ID")]
        discard_lost_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum OperatorCmd {
    /// Create an operator; prints its id and its native API Bearer token.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum SellerCmd {
    /// Create a seller of an operator.
    Create {
        #[arg(long)]
        operator: String,
        #[arg(long)]
        name: String,
        /// The seller's CNPJ (or CPF); check digits are verified.
        #[arg(long)]
        document: Option<String>,
    },
    /// Set, show or remove a seller's change feed (00K's notifications "ATIVA"): the
    /// URL of the seller's system the hub polls for what changed there. What is not
    /// given is kept (a new feed needs --url); prints the feed, header names only.
    Feed(FeedArgs),
}

#[derive(Args)]
struct FeedArgs {
    /// The seller whose feed it is.
    #[arg(long)]
    seller: String,
    /// The change list's URL (http or https).
    #[arg(long)]
    url: Option<String>,
    /// A header sent with every request, `Name: value` (repeat it for more; the
    /// headers given replace the stored ones).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Send no headers any more.
    #[arg(long, conflicts_with = "headers")]
    no_headers: bool,
    /// Seconds from the end of one poll to the next (1 to 86400; a new feed: 60).
    #[arg(long)]
    interval: Option<u32>,
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Keep the feed and its position, but stop polling it.
    #[arg(long)]
    disable: bool,
    /// Resume after this position (the next poll asks `since` it).
    #[arg(long, conflicts_with = "restart")]
    position: Option<String>,
    /// Read the list again from its beginning.
    #[arg(long)]
    restart: bool,
    /// Remove the feed (and its position).
    #[arg(long, conflicts_with_all = ["url", "headers", "no_headers", "interval", "enable", "disable", "position", "restart"])]
    remove: bool,
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Import products from a file: a 00K import body (JSON: one product or an array)
    /// or a CSV file with one row per product or variation (columns in the README).
    /// Prints a JSON summary; the rows that failed are written beside the file.
    Import {
        /// The file (`.json` or `.csv`; other names are read by their first character).
        file: PathBuf,
        /// The seller whose catalog it is.
        #[arg(long)]
        seller: String,
        /// Categories must exist: link them, never create them.
        #[arg(long)]
        verify_categories: bool,
        /// Brands must exist: link them, never create them.
        #[arg(long)]
        verify_brands: bool,
        /// Where to write the rows that failed (default `<file>.failed.<ext>` beside it).
        #[arg(long)]
        failed: Option<PathBuf>,
        /// The file's format, when its extension does not say.
        #[arg(long, value_parser = ["json", "csv"])]
        format: Option<String>,
    },
    /// Plain inserts of simple products from 00K import bodies (files, or directories
    /// of `.json` files), no job and no links: the catalog benchmark's reference and a
    /// fast load of a large catalog. A SKU that exists fails the load.
    BulkInsert {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        seller: String,
    },
}

#[derive(Subcommand)]
enum ReconCmd {
    /// Load a payout statement (CSV with a header row, or a JSON array of objects with
    /// the same names: orderCode, type, plotNumber, releasedValue,
    /// releasedPercentualComission, releasedDate) and match it against the seller's
    /// expected lines. Prints a JSON summary; loading the same statement again changes
    /// nothing.
    Load {
        /// The file (`.csv` or `.json`; other names are read by their first character).
        file: PathBuf,
        /// The seller whose statement it is.
        #[arg(long)]
        seller: String,
        /// The channel (marketplace) that paid it, as its orders name it.
        #[arg(long)]
        channel: String,
        /// The file's format, when its extension does not say.
        #[arg(long, value_parser = ["json", "csv"])]
        format: Option<String>,
        /// Only check the file: parse and validate every row, report what a load would
        /// take and refuse, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum WebhookCmd {
    /// Create an endpoint; prints it with its secret (shown only here and on rotate).
    Create {
        #[arg(long)]
        operator: String,
        /// Only this seller's events (default: the whole operator's).
        #[arg(long)]
        seller: Option<String>,
        /// Where deliveries are POSTed (http or https).
        #[arg(long)]
        url: String,
        /// Event types, comma-separated (default: all of them).
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List an operator's endpoints.
    List {
        #[arg(long)]
        operator: String,
    },
    /// Delete an endpoint with its delivery log.
    Delete { id: String },
    /// Give an endpoint a new secret (the old one signs beside it for a day).
    Rotate { id: String },
    /// Enable an endpoint (after it was disabled, by hand or for failing).
    Enable { id: String },
    /// Disable an endpoint (events meanwhile are logged as skipped).
    Disable { id: String },
    /// Show an endpoint's delivery log, newest first.
    Deliveries {
        id: String,
        /// pending, succeeded, failed or skipped.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send one message to an endpoint again.
    Replay { id: String, message: String },
    /// Send again every delivery of events since a time that did not arrive.
    Recover {
        id: String,
        /// ISO 8601 (`2024-05-01T00:00:00Z`).
        #[arg(long)]
        since: String,
    },
}

#[derive(Subcommand)]
enum CredentialCmd {
    /// Issue a credential; prints exactly the headers a client must send.
    Create(CreateCredential),
    /// Revoke a credential by id.
    Revoke { id: String },
}

#[derive(Args)]
#[group(required = true, multiple = false, id = "owner")]
struct Owner {
    /// The seller the credential acts as.
    #[arg(long)]
    seller: Option<String>,
    /// The operator the credential acts as (sees all its sellers).
    #[arg(long)]
    operator: Option<String>,
}

#[derive(Args)]
struct CreateCredential {
    #[command(flatten)]
    owner: Owner,
    /// skyhub, omnik, zerok, koncili (or native, for an operator).
    #[arg(long)]
    dialect: String,
    /// SkyHub only: the X-User-Email the client will send.
    #[arg(long)]
    email: Option<String>,
    /// This credential's own request rate (`5/s`, `90/min`, `1000/h`), over the
    /// configuration's `[rate_limits]` for its seller, operator and dialect.
    #[arg(long, value_parser = parse_rate_limit)]
    rate_limit: Option<RateLimit>,
}

fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    RateLimit::parse(text, "--rate-limit").map_err(|e| e.message)
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.clone())?;
    if let Some(url) = &cli.database_url {
        config.database_url = url.as_str().into();
    }
    if let Command::Serve { listen: Some(l) } = &cli.command {
        config.listen = l.clone();
    }
    init_tracing(&config);
    if let Command::Secrets(SecretsCmd::NewKey) = &cli.command {
        return print_json(&serde_json::json!({
            "key": entreposto_store::sealing::Sealer::new_key()
        }));
    }
    // The database URL's password is redacted (config::DatabaseUrl).
    tracing::debug!(?config, "configuration");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command, config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let lost = match &command {
        Command::Secrets(SecretsCmd::Reseal {
            discard_lost_key: Some(key_id),
        }) => LostSecrets::Discard {
            key_id: key_id.clone(),
        },
        _ => LostSecrets::Refuse,
    };
    let (store, resealed) = store::open_resealing(&config, lost).await?;
    let app = entreposto_app::App::with_system_clock(store.clone())
        .with_webhook_settings(config.webhooks.settings())
        .with_private_feed_addresses(config.notifications.allow_private_addresses);
    match command {
        Command::Serve { .. } => serve(store, &config).await,
        Command::Operator(OperatorCmd::Create { name }) => {
            let op = Operator {
                id: new_id(),
                name,
                created_at: Timestamp::now(),
            };
            store.create_operator(&op).await?;
            let cred =
                issue_credential(&app, &op.id, None, entreposto_api_native::DIALECT, None).await?;
            let token = cred.headers["Authorization"]
                .trim_start_matches("Bearer ")
                .to_string();
            print_json(&serde_json::json!({
                "id": op.id, "name": op.name, "token": token, "credential": cred.id
            }))
        }
        Command::Seller(SellerCmd::Create {
            operator,
            name,
            document,
        }) => {
            store
                .get_operator(&operator)
                .await
                .with_context(|| format!("operator {operator}"))?;
            let document = document
                .map(|d| Document::parse(&d, None))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--document: {}", e.message))?;
            let seller = Seller {
                id: new_id(),
                operator_id: operator,
                name,
                document,
                created_at: Timestamp::now(),
            };
            store.create_seller(&seller).await?;
            print_json(&serde_json::json!({
                "id": seller.id, "operator": seller.operator_id, "name": seller.name,
                "document": seller.document.map(|d| d.number),
            }))
        }
        Command::Seller(SellerCmd::Feed(f)) => seller_feed(&app, &store, f).await,
        Command::Credential(CredentialCmd::Create(c)) => {
            let dialect = entreposto::mounts::MOUNTS
                .iter()
                .map(|m| m.dialect)
                .find(|d| d.as_str() == c.dialect)
                .with_context(|| {
                    let names: Vec<&str> = entreposto::mounts::MOUNTS
                        .iter()
                        .map(|m| m.name())
                        .collect();
                    format!(
                        "unknown dialect '{}': one of {}",
                        c.dialect,
                        names.join(", ")
                    )
                })?;
            let (operator, seller) = match (c.owner.seller, c.owner.operator) {
                (Some(s), _) => {
                    let seller = store
                        .find_seller(&s)
                        .await
                        .with_context(|| format!("seller {s}"))?;
                    (seller.operator_id, Some(seller.id))
                }
                (None, Some(o)) => (o, None),
                (None, None) => anyhow::bail!("--seller or --operator is required"),
            };
            if dialect == entreposto_api_native::DIALECT && seller.is_some() {
                anyhow::bail!("native credentials belong to operators: use --operator");
            }
            let cred = issue_limited_credential(
                &app,
                &operator,
                seller.as_deref(),
                dialect,
                c.email,
                c.rate_limit,
            )
            .await
            .with_context(|| format!("operator {operator}"))?;
            print_json(&cred)
        }
        Command::Credential(CredentialCmd::Revoke { id }) => {
            app.revoke_credential(&id)
                .await
                .with_context(|| format!("credential {id}"))?;
            print_json(&serde_json::json!({"id": id, "revoked": true}))
        }
        Command::Catalog(CatalogCmd::Import {
            file,
            seller,
            verify_categories,
            verify_brands,
            failed,
            format,
        }) => {
            let format = format.map(|f| match f.as_str() {
                "json" => entreposto::catalog_file::Format::Json,
                _ => entreposto::catalog_file::Format::Csv,
            });
            let options = entreposto::catalog_file::import::Options {
                file,
                seller,
                verify_categories,
                verify_brands,
                failed,
                format,
            };
            entreposto::catalog_file::import::run(store.clone(), options).await
        }
        Command::Recon(ReconCmd::Load {
            file,
            seller,
            channel,
            format,
            dry_run,
        }) => {
            let format = format.map(|f| match f.as_str() {
                "json" => entreposto_app::finance::StatementFormat::Json,
                _ => entreposto_app::finance::StatementFormat::Csv,
            });
            let options = entreposto::recon::Options {
                file,
                seller,
                channel,
                format,
                dry_run,
            };
            entreposto::recon::run(store.clone(), options).await
        }
        Command::Catalog(CatalogCmd::BulkInsert { paths, seller }) => {
            entreposto::catalog_file::bulk::run(store.clone(), paths, &seller).await
        }
        Command::Webhook(cmd) => webhook(&app, cmd).await,
        Command::Secrets(SecretsCmd::Reseal { .. }) => print_json(&serde_json::json!({
            "resealed": resealed.resealed, "discarded": resealed.discarded,
            "sealed": config.secrets.key.is_some()
        })),
        Command::Secrets(SecretsCmd::NewKey) => unreachable!("answered before the database opens"),
        Command::Demo {
            orders,
            sellers,
            tickets,
            products,
        } => {
            let sizes = demo::Sizes {
                orders,
                sellers,
                tickets,
                products,
            };
            demo::run(store.clone(), sizes).await
        }
    }
}

/// The `webhook` commands. An endpoint named by id is found by id alone, then
/// changed as its operator's.
async fn webhook(app: &entreposto_app::App, cmd: WebhookCmd) -> anyhow::Result<()> {
    use entreposto_api_native::webhooks::{webhook_out, DeliveryOut};
    use entreposto_app::webhooks::{NewWebhook, WebhookPatch};
    let reads = app.reads();
    let operator_of = |id: String| {
        let reads = reads.clone();
        async move {
            reads
                .find_webhook(&id)
                .await
                .map(|e| (e.operator_id, id.clone()))
                .with_context(|| format!("webhook {id}"))
        }
    };
    let invalid = |e: entreposto_app::AppError| match e {
        entreposto_app::AppError::Invalid(f) => anyhow::anyhow!("--{}: {}", f.field, f.message),
        e => anyhow::anyhow!(e),
    };
    let enable = |enabled| WebhookPatch {
        enabled: Some(enabled),
        ..WebhookPatch::default()
    };
    match cmd {
        WebhookCmd::Create {
            operator,
            seller,
            url,
            events,
            description,
        } => {
            let e = app
                .create_webhook(
                    &operator,
                    NewWebhook {
                        url,
                        events,
                        seller,
                        description,
                    },
                )
                .await
                .map_err(|e| match e {
                    entreposto_app::AppError::NotFound => anyhow::anyhow!("no operator {operator}"),
                    e => invalid(e),
                })?;
            let mut out = serde_json::to_value(webhook_out(&e))?;
            out["secret"] = e.secret.expose().into();
            print_json(&out)
        }
        WebhookCmd::List { operator } => {
            let list = reads.list_webhooks(&operator).await?;
            print_json(&list.iter().map(webhook_out).collect::<Vec<_>>())
        }
        WebhookCmd::Delete { id } => {
            let (op, id) = operator_of(id).await?;
            app.delete_webhook(&op, &id).await?;
            print_json(&serde_json::json!({"id": id, "deleted": true}))
        }
        WebhookCmd::Rotate { id } => {
            let (op, id) = operator_of(id).await?;
            let e = app.rotate_webhook_secret(&op, &id).await?;
            let mut out = serde_json::to_value(webhook_out(&e))?;
            out["secret"] = e.secret.expose().into();
            print_json(&out)
        }
        WebhookCmd::Enable { id } => {
            let (op, id) = operator_of(id).await?;
            print_json(&webhook_out(
                &app.update_webhook(&op, &id, enable(true)).await?,
            ))
        }
        WebhookCmd::Disable { id } => {
            let (op, id) = operator_of(id).await?;
            print_json(&webhook_out(
                &app.update_webhook(&op, &id, enable(false)).await?,
            ))
        }
        WebhookCmd::Deliveries { id, state, limit } => {
            let (op, id) = operator_of(id).await?;
            let state = state
                .map(|s| {
                    entreposto_domain::DeliveryState::parse(&s).with_context(|| {
                        format!("--state must be pending, succeeded, failed or skipped, not '{s}'")
                    })
                })
                .transpose()?;
            let filter = entreposto_store::webhooks::DeliveryFilter {
                state,
                before: None,
                limit: limit.clamp(1, 1000),
            };
            let list = reads.list_webhook_deliveries(&op, &id, &filter).await?;
            print_json(&list.iter().map(DeliveryOut::of).collect::<Vec<_>>())
        }
        WebhookCmd::Replay { id, message } => {
            let (op, id) = operator_of(id).await?;
            let d = app
                .replay_webhook_message(&op, &id, &message)
                .await
                .with_context(|| format!("message {message} of webhook {id}"))?;
            print_json(&DeliveryOut::of(&d))
        }
        WebhookCmd::Recover { id, since } => {
            let (op, id) = operator_of(id).await?;
            let since =
                Timestamp::parse(&since).map_err(|e| anyhow::anyhow!("--since: {}", e.message))?;
            let n = app.recover_webhook(&op, &id, since).await?;
            print_json(&serde_json::json!({"id": id, "requeued": n}))
        }
    }
}

/// `seller feed`: the native API's `PUT .../change-feed` (the same merge and checks)
/// from flags, or a read or removal.
async fn seller_feed(
    app: &entreposto_app::App,
    store: &std::sync::Arc<dyn entreposto_store::Store>,
    f: FeedArgs,
) -> anyhow::Result<()> {
    let seller = store
        .find_seller(&f.seller)
        .await
        .with_context(|| format!("seller {}", f.seller))?;
    let scope = entreposto_domain::Scope::seller(&seller.operator_id, &seller.id);
    if f.remove {
        app.remove_feed(&scope)
            .await
            .with_context(|| format!("seller {} has no change feed", seller.id))?;
        return print_json(&serde_json::json!({"seller": seller.id, "removed": true}));
    }
    let stored = match store.get_change_feed(&scope).await {
        Ok(feed) => Some(feed),
        Err(entreposto_store::StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let headers = if f.no_headers {
        Some(Default::default())
    } else if f.headers.is_empty() {
        None
    } else {
        let mut map = std::collections::BTreeMap::new();
        for h in &f.headers {
            let (name, value) = h
                .split_once(':')
                .with_context(|| format!("--header '{h}': write it as 'Name: value'"))?;
            map.insert(name.trim().to_string(), value.trim().to_string());
        }
        Some(map)
    };
    let position = match (f.position, f.restart) {
        (Some(p), _) => Some(Some(entreposto_http::body::Text(p))),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let enabled = match (f.enable, f.disable) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let unchanged = f.url.is_none()
        && headers.is_none()
        && f.interval.is_none()
        && enabled.is_none()
        && position.is_none();
    let feed = match (stored, unchanged) {
        (Some(feed), true) => feed,
        (None, true) => anyhow::bail!(
            "seller {} has no change feed (set one with --url)",
            seller.id
        ),
        (stored, false) => {
            let body = entreposto_api_native::feeds::FeedIn {
                url: f.url,
                headers,
                interval_seconds: f.interval,
                enabled,
                position,
            };
            let config = body
                .config(stored.map(|s| s.settings))
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            app.configure_feed(&scope, config)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    print_json(&entreposto_api_native::feeds::feed_out(feed))
}

async fn serve(
    store: std::sync::Arc<dyn entreposto_store::Store>,
    config: &Config,
) -> anyhow::Result<()> {
    let backend = store.backend();
    let bound = entreposto::listeners::bind(store.clone(), config).await?;
    // One signal for every listener and the background work: each stops when it sees it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    let background = match bound.first() {
        Some(b) => Some(entreposto::background::start(
            &b.app, store, config, &stopped,
        )?),
        None => None,
    };
    let mut running = tokio::task::JoinSet::new();
    // The shared listener is logged first: scripts (and the tests) read its address
    // from the first "listening on" line.
    for b in bound {
        let addr = b.listener.local_addr()?;
        match b.mount {
            None => tracing::info!(%addr, backend, "listening on {addr}"),
            Some(m) => tracing::info!(
                %addr,
                dialect = m.name(),
                public_url = %b.public_url,
                "{} listening on {addr}",
                m.name()
            ),
        }
        let name = b.name();
        let edge = config.edge.clone();
        let owners = b.owners();
        let mut stopped = stopped.clone();
        running.spawn(async move {
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            entreposto::listener::serve_listener(b.listener, b.router, owners, &edge, stop)
                .await
                .with_context(|| format!("serving the {name} listener"))
        });
    }
    // Every listener drains on the shutdown signal; the first to fail stops the rest.
    while let Some(done) = running.join_next().await {
        done??;
    }
    if let Some(b) = background {
        b.join().await?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The next delivery of `signal`; never, when its handler could not be installed.
#[cfg(unix)]
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not
/// when it is first polled, so a signal that arrives once `serve` has logged its
/// listeners is never missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut signals = {
        use tokio::signal::unix::{signal, SignalKind};
        [SignalKind::terminate(), SignalKind::interrupt()].map(|k| signal(k).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let [term, int] = &mut signals;
            tokio::select! {
                _ = next_signal(term) => {},
                _ = next_signal(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown signal received, draining");
    }
}
