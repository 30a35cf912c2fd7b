//! `fieldgate tenants|developers|apps|clients|...`: the operator's commands. They call the
//! admin API of a running server, or with `--direct` (or when no server answers at the
//! configured address) run the same operations on the store in this process.

use anyhow::{Context, Result, bail};
use clap::Args;
use fieldgate_server::Config;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

mod commands;
mod output;

pub use commands::AdminCommand;

/// How the commands reach the control plane, and how they print.
#[derive(Args)]
pub struct AdminArgs {
    /// The admin API, such as http://127.0.0.1:7310; by default the configured `admin_listen`.
    #[arg(long, global = true, env = "FIELDGATE_ADMIN_URL")]
    admin_url: Option<String>,
    /// The operator token; better given as FIELDGATE_OPERATOR_TOKEN (or `operator_token`).
    #[arg(long, global = true, hide_env_values = true)]
    operator_token: Option<String>,
    /// Work on the store directly, not through a running server.
    #[arg(long, global = true)]
    direct: bool,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

pub async fn run(config: Config, args: AdminArgs, command: AdminCommand) -> Result<()> {
    let call = command.call()?;
    let (status, body) = send(&config, &args, &call).await?;
    if !status.is_success() {
        bail!("{}", output::problem(status, &body));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", output::render(&body));
    }
    if output::holds_secret(&body) {
        eprintln!("The secret above is shown once; fieldgate keeps only a digest of it.");
    }
    Ok(())
}

async fn send(
    config: &Config,
    args: &AdminArgs,
    call: &commands::Call,
) -> Result<(StatusCode, Value)> {
    if !args.direct {
        let token = args
            .operator_token
            .clone()
            .map(SecretString::from)
            .or_else(|| config.operator_token.clone());
        let url = args
            .admin_url
            .clone()
            .or_else(|| config.admin_listen.map(|a| format!("http://{a}")));
        match (token, url) {
            (Some(token), Some(url)) => match over_http(&url, &token, call).await {
                Ok(answer) => return Ok(answer),
                // Only the configured default falls back: a URL given on purpose that does not
                // answer is an error, not a reason to change some local store instead.
                Err(e) if e.is_connect() && args.admin_url.is_none() => {
                    eprintln!("note: no admin API answers at {url}; working on the store directly");
                }
                Err(e) => return Err(e).with_context(|| format!("calling the admin API at {url}")),
            },
            (None, _) if args.admin_url.is_some() => {
                bail!("set FIELDGATE_OPERATOR_TOKEN (or --operator-token) to call the admin API")
            }
            _ => eprintln!("note: no operator token is configured; working on the store directly"),
        }
    }
    if config.database_url.is_none() && !config.database_path().exists() {
        eprintln!(
            "note: creating a new store in {}",
            config.data_dir.display()
        );
    }
    let (store, keys) = fieldgate_server::open(config).await?;
    let method = axum_method(&call.method);
    let (status, body) =
        fieldgate_server::admin::call(store, keys, method, &call.path, call.body.as_ref()).await;
    Ok((StatusCode::from_u16(status.as_u16())?, body))
}

async fn over_http(
    url: &str,
    token: &SecretString,
    call: &commands::Call,
) -> Result<(StatusCode, Value), reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut request = client
        .request(
            call.method.clone(),
            format!("{}{}", url.trim_end_matches('/'), call.path),
        )
        .bearer_auth(token.expose_secret());
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// reqwest and axum name the same HTTP methods with their own types.
fn axum_method(method: &reqwest::Method) -> fieldgate_server::admin::Method {
    fieldgate_server::admin::Method::from_bytes(method.as_str().as_bytes())
        .expect("a standard method")
}
