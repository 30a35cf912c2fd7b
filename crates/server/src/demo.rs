//! The demo: a developer with an app, a customer tenant with production data and an
//! integration copy of it, and a developer sandbox with the standard sample data.

use fieldgate_catalog::Catalog;
use fieldgate_store::{Dataset, Environment, Store, TenantKind};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::control::{Actor, Control};
use crate::crypto::{Keys, random_string};

/// The customer tenant's id is past 2^31, as real tenant ids are.
pub const CUSTOMER_TENANT: i64 = 3_141_592_653;
pub const SANDBOX_TENANT: i64 = 2_718_281_828;

/// Who signs in to the demo's portal and consoles.
pub const DEVELOPER_EMAIL: &str = "developer@fieldgate.test";
pub const CUSTOMER_ADMIN: &str = "admin@acme.fieldgate.test";
pub const SANDBOX_ADMIN: &str = "admin@sandbox.fieldgate.test";

/// Seeds of the sample data: the customer's "production" data and the standard sandbox data.
const CUSTOMER_SEED: u64 = 20_240_101;
pub const STANDARD_SEED: u64 = 1;

#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Customers per tenant; related records scale with it.
    pub scale: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { scale: 300 }
    }
}

/// Fills a dataset with generated sample data.
pub async fn seed(
    store: &dyn Store,
    dataset: Dataset,
    seed: u64,
    scale: usize,
) -> anyhow::Result<u64> {
    let now_us = chrono::Utc::now().timestamp_micros();
    // Reserve the id range the generator will use, so later creates never collide with it.
    let estimate = (scale as i64 + 100) * 40;
    let first = store.allocate_ids(dataset, estimate).await?;
    let options = fieldgate_sample::SampleOptions {
        seed,
        scale,
        now_us,
    };
    let data = fieldgate_sample::generate(Catalog::get(), &options, first);
    anyhow::ensure!(
        data.next_id <= first + estimate,
        "sample data outgrew its reserved ids"
    );
    let mut total = 0;
    for (resource, records) in &data.resources {
        store.put_records(dataset, resource, records).await?;
        total += records.len() as u64;
    }
    Ok(total)
}

/// Creates the demo's developer, app, tenants, data and credentials; returns the document
/// `--credentials-out` writes. The secrets in it exist nowhere else.
pub async fn create(
    store: &dyn Store,
    keys: &Keys,
    config: &Config,
    options: DemoOptions,
) -> anyhow::Result<Value> {
    let control = Control {
        store,
        keys,
        actor: Actor::operator(),
    };
    let scopes = Catalog::get().all_scopes();

    // People who sign in to the portal and the consoles; their passwords exist only in the
    // document returned here.
    let mut people = Vec::new();
    let password = random_string(20);
    let (developer, _) = control
        .sign_up_developer("Demo Developer", DEVELOPER_EMAIL, &password)
        .await?;
    people.push(json!({"role": "developer", "email": DEVELOPER_EMAIL, "password": password}));
    let app = control
        .create_app(developer.id, "Demo App", &scopes)
        .await?;
    let app_key = control.issue_app_key(app.id).await?;

    control
        .create_tenant(CUSTOMER_TENANT, "Acme Heating & Air", TenantKind::Customer)
        .await?;
    control
        .create_tenant(
            SANDBOX_TENANT,
            "Demo Developer Sandbox",
            TenantKind::Developer,
        )
        .await?;

    let production = Dataset::new(Environment::Production, CUSTOMER_TENANT);
    let copied = Dataset::new(Environment::Integration, CUSTOMER_TENANT);
    let sandbox = Dataset::new(Environment::Integration, SANDBOX_TENANT);
    seed(store, production, CUSTOMER_SEED, options.scale).await?;
    store.copy_dataset(production, copied).await?;
    seed(store, sandbox, STANDARD_SEED, options.scale).await?;

    for (tenant, email) in [
        (CUSTOMER_TENANT, CUSTOMER_ADMIN),
        (SANDBOX_TENANT, SANDBOX_ADMIN),
    ] {
        let password = random_string(20);
        control
            .create_tenant_admin(tenant, "Demo Tenant Admin", email, &password)
            .await?;
        people.push(json!({
            "role": "tenantAdmin", "tenantId": tenant, "email": email, "password": password,
        }));
    }

    let mut tenants = Vec::new();
    for (tenant, name, kind, envs) in [
        (
            CUSTOMER_TENANT,
            "Acme Heating & Air",
            "customer",
            &Environment::ALL[..],
        ),
        (
            SANDBOX_TENANT,
            "Demo Developer Sandbox",
            "developer",
            &[Environment::Integration][..],
        ),
    ] {
        let mut credentials = Map::new();
        for &env in envs {
            control.connect(&app, tenant, env, &scopes).await?;
            let issued = control.issue_client(app.id, tenant, env).await?;
            credentials.insert(
                env.to_string(),
                json!({
                    "clientId": issued.client_id,
                    "clientSecret": issued.client_secret.expose_secret(),
                }),
            );
        }
        tenants.push(json!({"id": tenant, "name": name, "kind": kind, "credentials": credentials}));
    }

    let mut doc = json!({
        "environments": environments(config),
        "appKey": app_key.expose_secret(),
        "tenants": tenants,
        "web": {
            "url": config.web_url,
            "portal": format!("{}/portal", config.web_url),
            "console": format!("{}/console", config.web_url),
        },
        "people": people,
    });
    if let (Some(token), Some(addr)) = (&config.operator_token, config.admin_listen) {
        doc["adminUrl"] = json!(format!("http://{addr}"));
        doc["operatorToken"] = json!(token.expose_secret());
    }
    Ok(doc)
}

pub fn environments(config: &Config) -> Value {
    let env = |e: Environment| {
        let c = config.env(e);
        json!({"authUrl": c.auth_url, "apiUrl": c.api_url})
    };
    json!({"integration": env(Environment::Integration), "production": env(Environment::Production)})
}

/// What a person reads after `fieldgate demo`: URLs, credentials and a curl pair to paste.
/// `serving` says whether this process goes on to serve them (not with `--no-serve`).
pub fn describe(doc: &Value, serving: bool) -> String {
    let mut out = String::new();
    let envs = &doc["environments"];
    out.push_str(if serving {
        "fieldgate demo is running.\n\n"
    } else {
        "fieldgate demo data is ready; `fieldgate serve` serves it at these URLs.\n\n"
    });
    for env in ["integration", "production"] {
        out.push_str(&format!(
            "  {env:<12} auth {}   api {}\n",
            envs[env]["authUrl"].as_str().unwrap_or_default(),
            envs[env]["apiUrl"].as_str().unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\n  app key (ST-App-Key): {}\n",
        doc["appKey"].as_str().unwrap_or_default()
    ));
    for tenant in doc["tenants"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  tenant {} ({}, {})\n",
            tenant["id"],
            tenant["name"].as_str().unwrap_or_default(),
            tenant["kind"].as_str().unwrap_or_default()
        ));
        for (env, c) in tenant["credentials"].as_object().into_iter().flatten() {
            out.push_str(&format!(
                "    {env:<12} client_id {}  client_secret {}\n",
                c["clientId"].as_str().unwrap_or_default(),
                c["clientSecret"].as_str().unwrap_or_default()
            ));
        }
    }

    if let Some(url) = doc["web"]["url"].as_str() {
        out.push_str(&format!("\n  web console {url} (passwords shown once):\n"));
        for login in doc["people"].as_array().into_iter().flatten() {
            let (who, page) = match login["tenantId"].as_i64() {
                Some(tenant) => (format!("admin of {tenant}"), "console"),
                None => ("developer".to_string(), "portal"),
            };
            out.push_str(&format!(
                "    {who:<20} {url}/{page:<8} {}  password {}\n",
                login["email"].as_str().unwrap_or_default(),
                login["password"].as_str().unwrap_or_default()
            ));
        }
    }

    let tenant = &doc["tenants"][0];
    let c = &tenant["credentials"]["integration"];
    out.push_str(&format!(
        "\nTry it (integration):\n\n  TOKEN=$(curl -s {auth}/connect/token -d grant_type=client_credentials \
         -d client_id={id} -d client_secret={secret} | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n\
         \n  curl -s -H \"ST-App-Key: {key}\" -H \"Authorization: Bearer $TOKEN\" \
         \"{api}/crm/v2/tenant/{tenant}/customers?pageSize=2\"\n",
        auth = envs["integration"]["authUrl"].as_str().unwrap_or_default(),
        api = envs["integration"]["apiUrl"].as_str().unwrap_or_default(),
        id = c["clientId"].as_str().unwrap_or_default(),
        secret = c["clientSecret"].as_str().unwrap_or_default(),
        key = doc["appKey"].as_str().unwrap_or_default(),
        tenant = tenant["id"],
    ));
    // The demo's operator token may be made for this run only: no use to a later `serve`.
    if let (true, Some(url), Some(token)) = (
        serving,
        doc["adminUrl"].as_str(),
        doc["operatorToken"].as_str(),
    ) {
        out.push_str(&format!(
            "\nAdmin API {url} (operator token {token}); from another shell:\n\n  \
             FIELDGATE_OPERATOR_TOKEN={token} fieldgate --admin-url {url} clients list --tenant {}\n",
            doc["tenants"][0]["id"]
        ));
    }
    out.push_str(
        "\nThe secrets and passwords above are shown once; they are stored only as digests \
         and Argon2id hashes.\n",
    );
    out
}
