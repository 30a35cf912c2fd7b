//! The operator subcommands and the admin API request each one makes.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

/// One admin API request.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

impl Call {
    fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            body: None,
        }
    }

    fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
        }
    }

    fn delete(path: impl Into<String>) -> Self {
        Self {
            method: Method::DELETE,
            path: path.into(),
            body: None,
        }
    }
}

/// Credential management, over the admin API or directly on the store.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Tenants: list, create, show.
    #[command(subcommand)]
    Tenants(Tenants),
    /// Tenant admins, who sign in to a tenant's console.
    #[command(subcommand)]
    Admins(Admins),
    /// Developers, who sign in to the developer portal.
    #[command(subcommand)]
    Developers(Developers),
    /// Apps and the scopes they ask for.
    #[command(subcommand)]
    Apps(Apps),
    /// App keys (ST-App-Key): list, regenerate with a grace period.
    #[command(subcommand, name = "app-keys")]
    AppKeys(AppKeys),
    /// Connections of apps to tenants, per environment.
    #[command(subcommand)]
    Connections(Connections),
    /// Client credentials: issue, rotate secrets, disable, enable.
    #[command(subcommand)]
    Clients(Clients),
    /// The audit log, newest first.
    Audit(Audit),
    /// Every scope of the API, by module.
    Scopes,
}

#[derive(Subcommand)]
pub enum Tenants {
    /// Every tenant.
    List,
    /// A new tenant; its id is the one clients put in API paths.
    Create {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
        /// `customer` (production and an integration copy) or `developer` (a sandbox).
        #[arg(long, default_value = "customer")]
        kind: String,
    },
    /// One tenant.
    Show { id: i64 },
}

#[derive(Subcommand)]
pub enum Admins {
    /// The admins of a tenant.
    List {
        #[arg(long)]
        tenant: i64,
    },
    /// Reads the password from the first line of standard input.
    Create {
        #[arg(long)]
        tenant: i64,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum Developers {
    /// Every developer.
    List,
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Read a password from the first line of standard input, so they can sign in.
        #[arg(long)]
        password_stdin: bool,
    },
    /// One developer.
    Show { id: i64 },
}

#[derive(Subcommand)]
pub enum Apps {
    /// Every app, or one developer's.
    List {
        #[arg(long)]
        developer: Option<i64>,
    },
    /// A new app asking for scopes; then `app-keys regenerate` gives it a key.
    Create {
        #[arg(long)]
        developer: i64,
        #[arg(long)]
        name: String,
        /// A scope the app needs, such as tn.crm.customers:r; repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// The app and the tenants connected to it.
    Show { id: i64 },
}

#[derive(Subcommand)]
pub enum AppKeys {
    /// The app's keys (hints only), newest first, and when each ends.
    List { app: i64 },
    /// A new key, shown once; older keys stop after the grace period.
    Regenerate {
        app: i64,
        /// How long older keys keep working: seconds, or with s, m, h or d (`90m`, `7d`).
        #[arg(long, default_value = "0", value_parser = parse_duration)]
        grace: u64,
    },
}

#[derive(Subcommand)]
pub enum Connections {
    /// The apps connected to a tenant, per environment, with the scopes granted.
    List {
        #[arg(long)]
        tenant: i64,
    },
    /// Connects an app to a tenant in one environment, granting scopes.
    Connect {
        #[arg(long)]
        tenant: i64,
        #[arg(long)]
        app: i64,
        /// `integration` or `production`.
        #[arg(long = "env")]
        environment: String,
        /// A scope granted; repeat for more. All the app asks for when left out.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Also disables the app's clients for that tenant and environment.
    Disconnect {
        #[arg(long)]
        tenant: i64,
        #[arg(long)]
        app: i64,
        #[arg(long = "env")]
        environment: String,
    },
}

#[derive(Subcommand)]
pub enum Clients {
    /// The client credentials of a tenant and which secret slots are set.
    List {
        #[arg(long)]
        tenant: i64,
    },
    /// A client id and secret for (app, tenant, environment), shown once.
    Issue {
        #[arg(long)]
        tenant: i64,
        #[arg(long)]
        app: i64,
        #[arg(long = "env")]
        environment: String,
    },
    /// One client.
    Show { client: String },
    /// A second secret for rotation, shown once.
    AddSecret { client: String },
    /// Ends the secret in a slot (1 or 2) and the tokens it obtained.
    RetireSecret {
        client: String,
        #[arg(long)]
        slot: u8,
    },
    /// Pauses a client: no tokens, and its tokens out are refused.
    Disable { client: String },
    /// Restores a paused client.
    Enable { client: String },
}

#[derive(Args)]
pub struct Audit {
    #[arg(long)]
    tenant: Option<i64>,
    #[arg(long)]
    app: Option<i64>,
    /// From this time on: 2026-01-31 or 2026-01-31T08:00:00Z.
    #[arg(long)]
    since: Option<String>,
    /// Before this time.
    #[arg(long)]
    until: Option<String>,
    #[arg(long)]
    limit: Option<u32>,
}

/// `90`, `90s`, `15m`, `2h`, `7d` as seconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 3600, 90m or 7d"))?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("unknown unit `{other}`; use s, m, h or d")),
    };
    Ok(n * unit)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if let Some(value) = value {
            out.append_pair(name, value);
        }
    }
    let text = out.finish();
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

impl AdminCommand {
    /// The request this command makes.
    pub fn call(self) -> anyhow::Result<Call> {
        const V1: &str = "/admin/v1";
        Ok(match self {
            AdminCommand::Tenants(Tenants::List) => Call::get(format!("{V1}/tenants")),
            AdminCommand::Tenants(Tenants::Create { id, name, kind }) => Call::post(
                format!("{V1}/tenants"),
                json!({"id": id, "name": name, "kind": kind}),
            ),
            AdminCommand::Tenants(Tenants::Show { id }) => Call::get(format!("{V1}/tenants/{id}")),
            AdminCommand::Admins(Admins::List { tenant }) => {
                Call::get(format!("{V1}/tenants/{tenant}/admins"))
            }
            AdminCommand::Admins(Admins::Create {
                tenant,
                name,
                email,
            }) => Call::post(
                format!("{V1}/tenants/{tenant}/admins"),
                json!({"name": name, "email": email, "password": read_password()?}),
            ),
            AdminCommand::Developers(Developers::List) => Call::get(format!("{V1}/developers")),
            AdminCommand::Developers(Developers::Create {
                name,
                email,
                password_stdin,
            }) => {
                let mut body = json!({"name": name, "email": email});
                if password_stdin {
                    body["password"] = json!(read_password()?);
                }
                Call::post(format!("{V1}/developers"), body)
            }
            AdminCommand::Developers(Developers::Show { id }) => {
                Call::get(format!("{V1}/developers/{id}"))
            }
            AdminCommand::Apps(Apps::List { developer }) => Call::get(format!(
                "{V1}/apps{}",
                query(&[("developerId", developer.map(|d| d.to_string()))])
            )),
            AdminCommand::Apps(Apps::Create {
                developer,
                name,
                scopes,
            }) => Call::post(
                format!("{V1}/apps"),
                json!({"developerId": developer, "name": name, "scopes": scopes}),
            ),
            AdminCommand::Apps(Apps::Show { id }) => Call::get(format!("{V1}/apps/{id}")),
            AdminCommand::AppKeys(AppKeys::List { app }) => {
                Call::get(format!("{V1}/apps/{app}/keys"))
            }
            AdminCommand::AppKeys(AppKeys::Regenerate { app, grace }) => Call::post(
                format!("{V1}/apps/{app}/keys"),
                json!({"graceSeconds": grace}),
            ),
            AdminCommand::Connections(Connections::List { tenant }) => {
                Call::get(format!("{V1}/tenants/{tenant}/connections"))
            }
            AdminCommand::Connections(Connections::Connect {
                tenant,
                app,
                environment,
                scopes,
            }) => {
                let mut body = json!({"appId": app, "environment": environment});
                if !scopes.is_empty() {
                    body["scopes"] = json!(scopes);
                }
                Call::post(format!("{V1}/tenants/{tenant}/connections"), body)
            }
            AdminCommand::Connections(Connections::Disconnect {
                tenant,
                app,
                environment,
            }) => Call::delete(format!(
                "{V1}/tenants/{tenant}/connections/{app}/{environment}"
            )),
            AdminCommand::Clients(Clients::List { tenant }) => {
                Call::get(format!("{V1}/tenants/{tenant}/clients"))
            }
            AdminCommand::Clients(Clients::Issue {
                tenant,
                app,
                environment,
            }) => Call::post(
                format!("{V1}/tenants/{tenant}/clients"),
                json!({"appId": app, "environment": environment}),
            ),
            AdminCommand::Clients(Clients::Show { client }) => {
                Call::get(format!("{V1}/clients/{}", encode(&client)))
            }
            AdminCommand::Clients(Clients::AddSecret { client }) => Call::post(
                format!("{V1}/clients/{}/secrets", encode(&client)),
                json!({}),
            ),
            AdminCommand::Clients(Clients::RetireSecret { client, slot }) => {
                Call::delete(format!("{V1}/clients/{}/secrets/{slot}", encode(&client)))
            }
            AdminCommand::Clients(Clients::Disable { client }) => Call::post(
                format!("{V1}/clients/{}/disable", encode(&client)),
                json!({}),
            ),
            AdminCommand::Clients(Clients::Enable { client }) => Call::post(
                format!("{V1}/clients/{}/enable", encode(&client)),
                json!({}),
            ),
            AdminCommand::Audit(a) => Call::get(format!(
                "{V1}/audit{}",
                query(&[
                    ("tenantId", a.tenant.map(|t| t.to_string())),
                    ("appId", a.app.map(|t| t.to_string())),
                    ("since", a.since),
                    ("until", a.until),
                    ("limit", a.limit.map(|l| l.to_string())),
                ])
            )),
            AdminCommand::Scopes => Call::get(format!("{V1}/scopes")),
        })
    }
}

/// A path segment taken from the command line, percent-encoded.
fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("7w").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
