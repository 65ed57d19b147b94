//! config-sync: validates the dashboard's config answers and writes the production values into wrangler.jsonc.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::OpsError;
use crate::dashboard::{self, BillingCloud, CheckoutState, Loaded};
use crate::gate::{self, CHECKOUT_VAR, Gate};
use crate::repo::Repo;
use crate::validate;
use crate::wrangler::{self, Editor, Target};

/// One answer config-sync looks at.
struct Field {
    /// Key path in the dashboard file.
    key: &'static str,
    /// Label in the report.
    label: &'static str,
    /// Where it is written, if it is written at all.
    target: Option<Target>,
    /// What to do while it is unanswered.
    waiting: &'static str,
    /// The format rule.
    rule: fn(&str) -> Result<(), String>,
    /// The answer.
    answer: fn(&BillingCloud) -> Option<&String>,
}

/// The config answers, in report order.
const FIELDS: [Field; 4] = [
    Field {
        key: "billingCloud.d1DatabaseId",
        label: "Production billing D1 database_id",
        target: Some(Target::D1DatabaseId),
        waiting: "Create the billing D1 database and enter billingCloud.d1DatabaseId in the dashboard.",
        rule: validate::d1_database_id,
        answer: |b| b.d1_database_id.as_ref(),
    },
    Field {
        key: "billingCloud.allowedOrigin",
        label: "Production ALLOWED_ORIGIN",
        target: Some(Target::AllowedOrigin),
        waiting: "Enter the https origin of the site that opens checkout as billingCloud.allowedOrigin in the dashboard.",
        rule: validate::allowed_origin,
        answer: |b| b.allowed_origin.as_ref(),
    },
    Field {
        key: "billingCloud.stripeApiVersion",
        label: "Production STRIPE_API_VERSION",
        target: Some(Target::StripeApiVersion),
        waiting: "Enter the Stripe API version the Worker is built for as billingCloud.stripeApiVersion in the dashboard.",
        rule: validate::stripe_api_version,
        answer: |b| b.stripe_api_version.as_ref(),
    },
    Field {
        key: "billingCloud.workerUrl",
        label: "Billing Worker URL",
        target: None,
        waiting: "Deploy the Worker to a custom domain or workers.dev and enter billingCloud.workerUrl in the dashboard.",
        rule: validate::worker_url,
        answer: |b| b.worker_url.as_ref(),
    },
];

/// What to sync, and how.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The dashboard answers file.
    pub dashboard: PathBuf,
    /// Whether a missing dashboard file is an error (true when given with `--dashboard`).
    pub dashboard_required: bool,
    /// The wrangler.jsonc to write.
    pub wrangler: PathBuf,
    /// Report only; write nothing.
    pub dry_run: bool,
    /// The checkout switch asked for on the command line; overrides `billingCloud.checkout`.
    pub checkout: Option<CheckoutState>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The dashboard key path it is about.
    pub key: String,
    /// What it is.
    pub label: String,
    /// What happened or what to do.
    pub message: String,
}

/// The three-section report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Nothing was written because of `--dry-run`.
    pub dry_run: bool,
    /// wrangler.jsonc was rewritten.
    pub changed: bool,
    /// Values written (or, in a dry run, that would be).
    pub applied: Vec<Item>,
    /// Answers still missing.
    pub waiting: Vec<Item>,
    /// Answers that are invalid or look like secrets.
    pub needs_fix: Vec<Item>,
}

impl SyncReport {
    /// The report as text: `Applied`, `Waiting`, `Needs Fix`, one `- ` line per item.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        section(
            &mut out,
            "Applied",
            &self.applied,
            "No config values changed on the last sync.",
        );
        section(
            &mut out,
            "Waiting",
            &self.waiting,
            "No billing config values are waiting.",
        );
        section(
            &mut out,
            "Needs Fix",
            &self.needs_fix,
            "No invalid billing config values found.",
        );
        out
    }
}

/// Appends one section.
fn section(out: &mut String, title: &str, items: &[Item], empty: &str) {
    out.push_str(title);
    out.push('\n');
    if items.is_empty() {
        out.push_str(&format!("- {empty}\n"));
    }
    for item in items {
        out.push_str(&format!("- {}: {}\n", item.label, item.message));
    }
}

/// Runs config-sync; on error nothing was written.
pub fn run(repo: &Repo, options: &SyncOptions) -> Result<SyncReport, OpsError> {
    let loaded = dashboard::load(repo, &options.dashboard, options.dashboard_required)?;
    let shown = repo.show(&options.wrangler);
    let editor = Editor::parse(&repo.read(&options.wrangler)?, &shown)?;
    let mut report = SyncReport {
        dry_run: options.dry_run,
        ..SyncReport::default()
    };
    report.needs_fix.extend(secret_items(&loaded));
    for field in &FIELDS {
        sync_field(field, &loaded, &editor, &mut report)?;
    }
    report.needs_fix.extend(unknown_secret_names(&loaded));
    let requested = options.checkout.or(loaded.file.billing_cloud.checkout);
    sync_checkout(requested, &loaded, &editor, &shown, &mut report)?;
    if !report.applied.is_empty() && !options.dry_run {
        let text = editor.text();
        wrangler::parse_value(&text, &shown)?;
        repo.write(&options.wrangler, &text)?;
        report.changed = true;
    }
    Ok(report)
}

/// Files one answer under Applied, Waiting or Needs Fix, editing the tree when it changes a value.
fn sync_field(
    field: &Field,
    loaded: &Loaded,
    editor: &Editor,
    report: &mut SyncReport,
) -> Result<(), OpsError> {
    if loaded.secret_at(field.key).is_some() {
        return Ok(());
    }
    let item = |message: String| Item {
        key: field.key.to_string(),
        label: field.label.to_string(),
        message,
    };
    let Some(value) = (field.answer)(&loaded.file.billing_cloud) else {
        report.waiting.push(item(field.waiting.to_string()));
        return Ok(());
    };
    if let Err(reason) = (field.rule)(value) {
        report
            .needs_fix
            .push(item(format!("{} {reason}.", field.key)));
        return Ok(());
    }
    let Some(target) = field.target else {
        return Ok(());
    };
    if editor.get(target)?.as_deref() == Some(value.as_str()) {
        return Ok(());
    }
    editor.set(target, value)?;
    let verb = if report.dry_run { "would set" } else { "set" };
    report
        .applied
        .push(item(format!("{verb} {} to {value}.", target.location())));
    Ok(())
}

/// The label of the checkout switch in the report.
const CHECKOUT_LABEL: &str = "Production BILLING_CHECKOUT";

/// Writes the requested checkout switch when the preflight (on the edited config) allows it, else says why.
fn sync_checkout(
    requested: Option<CheckoutState>,
    loaded: &Loaded,
    editor: &Editor,
    shown: &str,
    report: &mut SyncReport,
) -> Result<(), OpsError> {
    let config = wrangler::parse_value(&editor.text(), shown).map_err(|e| e.to_string());
    let current = match &config {
        Ok(value) => gate::production_value(value)
            .unwrap_or("unset (disabled)")
            .to_string(),
        Err(_) => "unreadable".to_string(),
    };
    let item = |message: String| Item {
        key: "billingCloud.checkout".to_string(),
        label: CHECKOUT_LABEL.to_string(),
        message,
    };
    let Some(state) = requested else {
        report.waiting.push(item(format!(
            "Enter billingCloud.checkout (disabled, test or live) in the dashboard; env.production keeps {CHECKOUT_VAR}={current}."
        )));
        return Ok(());
    };
    if let Err(why) = Gate::evaluate(loaded, &config).permits(state) {
        report.needs_fix.push(item(format!(
            "refused to write {CHECKOUT_VAR}={}: {why}. env.production keeps {CHECKOUT_VAR}={current}.",
            state.as_str()
        )));
        return Ok(());
    }
    if current == state.as_str() {
        return Ok(());
    }
    editor.set(Target::Checkout, state.as_str())?;
    let verb = if report.dry_run { "would set" } else { "set" };
    report.applied.push(item(format!(
        "{verb} {} to {}.",
        Target::Checkout.location(),
        state.as_str()
    )));
    Ok(())
}

/// Needs Fix items for secret-looking values: key path and kind, never the value.
fn secret_items(loaded: &Loaded) -> Vec<Item> {
    loaded
        .secrets
        .iter()
        .map(|s| Item {
            key: s.path.clone(),
            label: s.path.clone(),
            message: format!(
                "looks like {}; remove it: the dashboard file holds no secrets or customer data (secrets go into the Worker with `wrangler secret put`). It is not shown here and was not written.",
                s.kind.describe()
            ),
        })
        .collect()
}

/// Needs Fix items for names in `secretsSet` the Worker does not read.
fn unknown_secret_names(loaded: &Loaded) -> Vec<Item> {
    let known = nyra_domain::config::REQUIRED_SECRETS;
    loaded
        .file
        .billing_cloud
        .secrets_set
        .iter()
        .filter(|name| !known.contains(&name.as_str()))
        .map(|name| Item {
            key: "billingCloud.secretsSet".to_string(),
            label: "Secret names".to_string(),
            message: format!(
                "billingCloud.secretsSet lists {name}, which is not a secret the Worker reads; list only names from `wrangler secret list`."
            ),
        })
        .collect()
}

/// Rollback step 1: writes `BILLING_CHECKOUT=disabled` into env.production (comments and layout kept); what it did.
pub fn disable_checkout(repo: &Repo, path: &Path) -> Result<String, OpsError> {
    let shown = repo.show(path);
    let editor = Editor::parse(&repo.read(path)?, &shown)?;
    if editor.get(Target::Checkout)?.as_deref() == Some(CheckoutState::Disabled.as_str()) {
        return Ok(format!(
            "{} is already disabled in {shown}; deploy with `npx wrangler deploy --env production` if the Worker may still run another value.",
            Target::Checkout.location()
        ));
    }
    editor.set(Target::Checkout, CheckoutState::Disabled.as_str())?;
    let text = editor.text();
    wrangler::parse_value(&text, &shown)?;
    repo.write(path, &text)?;
    Ok(format!(
        "set {} to disabled in {shown}; now deploy it: `npx wrangler deploy --env production`.",
        Target::Checkout.location()
    ))
}
