//! `holdfast serve`, `holdfast keys …` and `holdfast users …`: thin shells over `holdfast_server`.
use crate::config::Config;
use crate::{Failure, PolicyArgs};
use clap::{Args, Subcommand};
use holdfast_server::auth::{self, Role, Scope};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "HOLDFAST_LISTEN")]
    pub listen: SocketAddr,
    /// Stripe webhook signing secret(s) (`whsec_…`, comma-separated during a rotation).
    #[arg(long, env = "HOLDFAST_STRIPE_WEBHOOK_SECRET", value_delimiter = ',', hide_env_values = true)]
    pub stripe_webhook_secret: Vec<String>,
    /// Requests per second allowed per API key or user (burst: twice as many).
    #[arg(long, default_value_t = 100.0)]
    pub rate_limit: f64,
    /// Mark the session cookie Secure even on loopback (always on for other addresses; put HTTPS in front).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    pub print_openapi: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key; it is printed once and only its hash is stored.
    Create {
        /// read, ingest or admin.
        #[arg(long)]
        scope: String,
        /// A label (who or what uses the key).
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (ids, scopes, names, revocation), never the keys themselves.
    List,
    /// Revoke a key by id (or the whole key).
    Revoke { id: String },
}

#[derive(Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a dashboard user (or reset its password and role). The password is read from
    /// $HOLDFAST_PASSWORD or the --password flag.
    Create {
        username: String,
        /// Admin role (may edit targets); default read-only.
        #[arg(long)]
        admin: bool,
        #[arg(long, env = "HOLDFAST_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

fn server_db(cfg: &Config) -> Result<rusqlite::Connection, Failure> {
    // opening the store applies the migrations that create the server's tables
    holdfast_store::SqliteStore::open(&cfg.db).map_err(|e| Failure::io(format!("cannot open store {}: {e}", cfg.db.display())))?;
    auth::open_server_db(&cfg.db).map_err(Failure::io)
}

pub fn keys(cfg: &Config, a: &KeysArgs) -> Result<(), Failure> {
    let conn = server_db(cfg)?;
    match &a.command {
        KeysCommand::Create { scope, name } => {
            let scope = Scope::parse(scope).map_err(|e| Failure::new(2, format!("--scope: {e}")))?;
            let (key, info) = auth::create_key(&conn, scope, name.as_deref()).map_err(Failure::io)?;
            eprintln!("created key {} with scope {} (shown once; only its hash is stored)", info.id, info.scope);
            println!("{key}");
        }
        KeysCommand::List => {
            for k in auth::list_keys(&conn).map_err(Failure::io)? {
                let state = k.revoked_at.map(|t| format!("revoked {}", holdfast_core::time::format_instant(t))).unwrap_or_else(|| "active".into());
                println!("{}  {:<6}  {:<24}  created {}  {state}", k.id, k.scope, k.name.unwrap_or_default(), holdfast_core::time::format_instant(k.created_at));
            }
        }
        KeysCommand::Revoke { id } => {
            if !auth::revoke_key(&conn, id).map_err(Failure::io)? {
                return Err(Failure::new(66, format!("no active key with id {id:?} (see `holdfast keys list`)")));
            }
            eprintln!("revoked key {id}");
        }
    }
    Ok(())
}

pub fn users(cfg: &Config, a: &UsersArgs) -> Result<(), Failure> {
    let conn = server_db(cfg)?;
    match &a.command {
        UsersCommand::Create { username, admin, password } => {
            let role = if *admin { Role::Admin } else { Role::Read };
            auth::create_user(&conn, username, password, role).map_err(|e| Failure::new(2, e))?;
            eprintln!("user {username} ({}) saved in {}", role.as_str(), cfg.db.display());
        }
    }
    Ok(())
}

pub fn server_config(cfg: &Config, a: &ServeArgs, db: &Path) -> Result<holdfast_server::ServerConfig, Failure> {
    let mut sc = holdfast_server::ServerConfig::new(db.to_path_buf());
    sc.settings = crate::commands::settings_from(cfg, &a.policy)?;
    sc.grain = cfg.grain;
    sc.segment_by = cfg.segment_by.clone();
    sc.usage_ingest = cfg.usage.ingest.clone();
    sc.stripe_webhook_secrets = a.stripe_webhook_secret.iter().filter(|s| !s.is_empty()).cloned().collect();
    sc.rate_limit_per_second = a.rate_limit;
    sc.rate_limit_burst = 2.0 * a.rate_limit;
    sc.secure_cookies = a.secure_cookies || !a.listen.ip().is_loopback();
    Ok(sc)
}

pub fn serve(cfg: &Config, a: &ServeArgs) -> Result<(), Failure> {
    if a.print_openapi {
        println!("{}", holdfast_server::openapi().to_pretty_json().map_err(Failure::io)?);
        return Ok(());
    }
    if !cfg.db.exists() {
        return Err(Failure::new(66, format!("no store at {} (run `holdfast demo` or `holdfast import <dir>` first, or pass --db)", cfg.db.display())));
    }
    let sc = server_config(cfg, a, &cfg.db)?;
    holdfast_server::serve(sc, a.listen, |addr| {
        eprintln!("Holdfast dashboard on http://{addr}/  (API: http://{addr}/api/openapi.json; Ctrl-C stops)");
    })
    .map_err(|e| Failure::new(74, e.to_string()))
}

/// The end of `holdfast demo`: print how to open the dashboard, or (`--serve`) create a demo user and serve.
pub fn after_demo(cfg: &Config, a: &crate::commands::DemoArgs, db: &Path) -> Result<(), Failure> {
    let mut c2 = cfg.clone();
    c2.db = db.to_path_buf();
    if !a.serve {
        println!("\nOpen the dashboard on this data:");
        println!("  holdfast users create admin --admin --db {} --password '<at least 8 characters>'", db.display());
        println!("  holdfast serve --db {}        # then open http://127.0.0.1:8080/", db.display());
        println!("(or run `holdfast demo --serve` to do both)");
        return Ok(());
    }
    let password = auth::random_hex(9);
    let conn = server_db(&c2)?;
    auth::create_user(&conn, "demo", &password, Role::Admin).map_err(|e| Failure::new(70, e))?;
    let serve_args = ServeArgs { listen: a.listen, stripe_webhook_secret: vec![], rate_limit: 100.0, secure_cookies: false, print_openapi: false, policy: a.policy.clone() };
    let sc = server_config(&c2, &serve_args, db)?;
    holdfast_server::serve(sc, a.listen, |addr| {
        println!("\nDashboard: http://{addr}/   user: demo   password: {password}   (Ctrl-C stops)");
    })
    .map_err(|e| Failure::new(74, e.to_string()))
}
