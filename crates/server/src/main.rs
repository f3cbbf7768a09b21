//! The `entreposto` binary: `serve`, the admin commands, and `demo`.
//!
//! Admin commands talk to the database directly, so they work whether or not a server
//! is running (SQLite's WAL lets both write safely). Their output is JSON on stdout;
//! logs go to stderr.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use entreposto_domain::{Dialect, Document, Operator, Seller, Timestamp};
use entreposto_http::auth::issue_credential;
use entreposto_store::new_id;

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
    /// Fill the database with a realistic operator, sellers, credentials and orders.
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
        config.database_url = url.clone();
    }
    if let Command::Serve { listen: Some(l) } = &cli.command {
        config.listen = l.clone();
    }
    init_tracing(&config);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command, config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let store = store::open(&config).await?;
    match command {
        Command::Serve { .. } => serve(store, &config).await,
        Command::Operator(OperatorCmd::Create { name }) => {
            let op = Operator {
                id: new_id(),
                name,
                created_at: Timestamp::now(),
            };
            store.create_operator(&op).await?;
            let cred = issue_credential(&*store, &op.id, None, Dialect::Native, None).await?;
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
        Command::Credential(CredentialCmd::Create(c)) => {
            let dialect = Dialect::parse(&c.dialect).with_context(|| {
                format!(
                    "unknown dialect '{}': skyhub, omnik, zerok, koncili or native",
                    c.dialect
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
            if dialect == Dialect::Native && seller.is_some() {
                anyhow::bail!("native credentials belong to operators: use --operator");
            }
            let cred = issue_credential(&*store, &operator, seller.as_deref(), dialect, c.email)
                .await
                .with_context(|| format!("operator {operator}"))?;
            print_json(&cred)
        }
        Command::Credential(CredentialCmd::Revoke { id }) => {
            store
                .revoke_credential(&id, Timestamp::now())
                .await
                .with_context(|| format!("credential {id}"))?;
            print_json(&serde_json::json!({"id": id, "revoked": true}))
        }
        Command::Demo {
            orders,
            sellers,
            tickets,
        } => demo::run(store.clone(), orders, sellers, tickets).await,
    }
}

async fn serve(
    store: std::sync::Arc<dyn entreposto_store::Store>,
    config: &Config,
) -> anyhow::Result<()> {
    let backend = store.backend();
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let app = entreposto_http::router(entreposto_http::AppState::new(store, &public_url));
    tracing::info!(%addr, backend, "listening on {addr}");
    entreposto::listener::serve_listener(listener, app, &config.edge, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, draining");
}
