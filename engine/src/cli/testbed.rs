//! `marc testbed serve|truth|terminal|idp`: the simulated case systems, a
//! load testbed with many of them, and the test identity provider.

use super::{exit, usage};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use marc_testbed::{LoadSpec, SystemKind, World};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum TestbedCommand {
    /// Serve the simulated case systems on 127.0.0.1 until Ctrl-C.
    Serve {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
        /// Probability of a transient 503 from the legacy system.
        #[arg(long, default_value_t = 0.1)]
        fail_rate: f64,
        /// Append every request served to this JSON Lines file.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Serve HTTPS, with a certificate from a CA made for this testbed
        /// (like a municipality's internal CA); its certificate is written
        /// to --ca-out for the robot manifests' `tls_ca`.
        #[arg(long)]
        https: bool,
        /// Where --https writes the testbed CA's certificate (PEM).
        #[arg(long, requires = "https", default_value = "testbed-ca.pem")]
        ca_out: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// With --systems: write a robot per system here (`esdh01/robot.toml`,
        /// …), pointing at the served URLs, for `marc run --robots DIR`.
        #[arg(long, requires = "systems")]
        robots_out: Option<PathBuf>,
        /// With --systems: write the load citizen's ground truth here (JSON).
        #[arg(long, requires = "systems")]
        truth_out: Option<PathBuf>,
        /// The robots (`esdh`, `legacy`) whose manifests --robots-out copies.
        #[arg(long)]
        robots: Option<PathBuf>,
    },
    /// Run the terminal system in this terminal (for an xterm; the X11 robots use it).
    Terminal {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
    },
    /// Write the ground truth (every document per citizen) as JSON.
    Truth {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
        /// Only this citizen's documents.
        #[arg(long)]
        cpr: Option<String>,
        /// Output file ("-" for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Run the test OpenID provider (NOT MitID) with the testbed's identities
    /// until Ctrl-C, and print its issuer, client and identities.
    Idp(IdpArgs),
}

/// The load testbed's shape: `--systems N [--documents M]`.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// A load testbed: this many systems, ESDH and legacy alternating
    /// (esdh01, legacy01, esdh02, …), instead of the standard ones.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=200))]
    systems: Option<u16>,
    /// With --systems: how many documents the load citizen has across them.
    #[arg(long, requires = "systems", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    documents: u32,
}

impl LoadArgs {
    fn spec(&self) -> Option<LoadSpec> {
        self.systems.map(|systems| LoadSpec {
            systems: systems.into(),
            documents: self.documents as usize,
        })
    }

    /// The world these flags name.
    fn world(&self, seed: u64) -> World {
        match self.spec() {
            Some(spec) => World::generate_load(seed, &spec),
            None => World::generate(seed),
        }
    }
}

#[derive(Args, Debug)]
pub struct IdpArgs {
    /// Where the client may be sent back after login (repeatable).
    #[arg(long, required = true)]
    redirect_uri: Vec<String>,
    /// Where RP-initiated logout may return to (repeatable).
    #[arg(long)]
    post_logout_redirect_uri: Vec<String>,
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The world whose citizens are the test identities.
    #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
    seed: u64,
    /// Identities from this JSON file instead of the testbed's
    /// (`{"persons":[{"cpr","name"}],"organisations":[{"cvr","name","person"}]}`).
    #[arg(long)]
    identities: Option<PathBuf>,
    #[arg(long, default_value = "marc-demo")]
    client_id: String,
    /// The client secret (default: a fresh random one, printed).
    #[arg(long, env = "MARC_IDP_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// The claim carrying a person's CPR number.
    #[arg(long, default_value = "dk.cpr")]
    cpr_claim: String,
    /// The claim carrying an organisation's CVR number.
    #[arg(long, default_value = "dk.cvr")]
    cvr_claim: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(rt: &tokio::runtime::Runtime, c: TestbedCommand) -> Result<i32> {
    match c {
        TestbedCommand::Serve {
            seed,
            fail_rate,
            log,
            https,
            ca_out,
            load,
            robots_out,
            truth_out,
            robots,
        } => {
            if https && robots_out.is_some() {
                return Err(usage(
                    "--robots-out with --https is not supported: serve the load testbed over http",
                ));
            }
            let cfg = marc_testbed::TestbedConfig {
                seed,
                fail_rate,
                log_file: log,
                https,
                load: load.spec(),
                ..Default::default()
            };
            let tb = rt
                .block_on(marc_testbed::Testbed::start(cfg))
                .context("cannot start the testbed")?;
            if let Some(pem) = &tb.ca_pem {
                std::fs::write(&ca_out, pem).with_context(|| {
                    format!(
                        "cannot write the testbed CA certificate to {}",
                        ca_out.display()
                    )
                })?;
            }
            if load.systems.is_some() {
                let templates = robots.unwrap_or_else(|| crate::robot::default_dir("robots"));
                print_load(&tb, &templates, robots_out.as_deref(), truth_out.as_deref())?;
            } else {
                print_standard(&tb, &ca_out);
            }
            rt.block_on(async {
                let _ = tokio::signal::ctrl_c().await;
            });
            rt.block_on(tb.stop());
            Ok(exit::OK)
        }
        TestbedCommand::Terminal { seed } => {
            let world = std::sync::Arc::new(World::generate(seed));
            marc_testbed_terminal::tty::run_tty(world).context("the terminal front end failed")?;
            Ok(exit::OK)
        }
        TestbedCommand::Truth {
            seed,
            cpr,
            out,
            load,
        } => {
            let world = load.world(seed);
            write_truth(&world.truth(cpr.as_deref()), &out)?;
            Ok(exit::OK)
        }
        TestbedCommand::Idp(a) => idp(rt, a),
    }
}

/// What `serve` prints for the standard testbed (tests parse the first lines).
fn print_standard(tb: &marc_testbed::Testbed, ca_out: &Path) {
    let c = tb.world.demo_citizen();
    println!("esdh    {}", tb.esdh_url);
    println!("legacy  {}", tb.legacy_url);
    if tb.ca_pem.is_some() {
        println!("ca      {}", ca_out.display());
        println!(
            "(name it in the robots' [rights] as tls_ca = \"{}\")",
            ca_out.display()
        );
    }
    println!("demo citizen: {} {} ({})", c.cpr, c.name, c.address);
    println!("run against it with, e.g.:");
    println!(
        "  marc run --cpr {} --name '{}' --base-url esdh={} --base-url legacy={}",
        c.cpr, c.name, tb.esdh_url, tb.legacy_url
    );
    println!("(robot passwords: MARC_SECRET_<SYSTEM>_USER/_PASSWORD or `marc secret set`; see testbed/README.md)");
}

/// What `serve --systems` prints, after writing the robots and the truth:
/// one `<system> <url>` line per system, and last the `load citizen:` line.
fn print_load(
    tb: &marc_testbed::Testbed,
    templates: &Path,
    robots_out: Option<&Path>,
    truth_out: Option<&Path>,
) -> Result<()> {
    let me = tb.world.load_citizen();
    let truth = tb.world.truth(Some(&me.cpr));
    if let Some(dir) = robots_out {
        write_robots(templates, dir, &tb.systems)?;
    }
    if let Some(file) = truth_out {
        write_truth(&truth, file)?;
    }
    for s in &tb.systems {
        println!("{:<10} {}", s.id, s.url);
    }
    if let Some(dir) = robots_out {
        println!("robots     {}", dir.display());
    }
    if let Some(file) = truth_out {
        println!("truth      {}", file.display());
    }
    println!(
        "load citizen: {} {} ({} documents in {} systems)",
        me.cpr,
        me.name,
        truth.documents.len(),
        tb.systems.len()
    );
    if let Some(dir) = robots_out {
        println!("run against it with, e.g.:");
        println!(
            "  marc run --robots {} --cpr {} --name '{}' --out out/load",
            dir.display(),
            me.cpr,
            me.name
        );
        println!("(robot passwords as for the standard testbed: MARC_SECRET_ESDH_USER, … — every ESDH instance takes the esdh account, every legacy one the legacy account)");
    }
    Ok(())
}

fn write_truth(truth: &marc_testbed::Truth, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(truth)?;
    if out.as_os_str() == "-" {
        println!("{json}");
    } else {
        std::fs::write(out, json).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

/// The first line of every manifest `write_robots` makes: it may replace
/// such a folder later, never one a person wrote.
const GENERATED: &str = "# Generated by `marc testbed serve --robots-out`";

/// Writes a robot per served system into `dir`: the shipped manifest of its
/// kind (`robots/esdh`, `robots/legacy` — same script, account and rights
/// profile) with the instance's id, name and URL. Folders of an earlier run
/// that this run does not serve are removed, so they do not join `marc run`.
fn write_robots(
    templates: &Path,
    dir: &Path,
    systems: &[marc_testbed::ServedSystem],
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the robots directory {}", dir.display()))?;
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
    {
        let manifest = entry.path().join("robot.toml");
        let ours = std::fs::read_to_string(&manifest).is_ok_and(|t| t.starts_with(GENERATED));
        let served = systems
            .iter()
            .any(|s| entry.file_name().to_str() == Some(s.id.as_str()));
        if ours && !served {
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    for s in systems {
        let kind = s.kind.as_str();
        let template = templates.join(kind).join("robot.toml");
        let text = std::fs::read_to_string(&template).with_context(|| {
            format!(
                "cannot read the {kind} robot {} (pass --robots DIR)",
                template.display()
            )
        })?;
        let mut m: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid manifest", template.display()))?;
        let name = m
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or(kind)
            .to_string();
        m.insert("system".into(), s.id.clone().into());
        m.insert("name".into(), format!("{name} ({})", s.id).into());
        m.insert("base_url".into(), s.url.clone().into());
        let body = toml::to_string(&m).context("cannot write a manifest")?;
        let to = dir.join(&s.id);
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        let what = match s.kind {
            SystemKind::Esdh => "an ESDH instance",
            _ => "a legacy instance",
        };
        std::fs::write(
            to.join("robot.toml"),
            format!(
                "{GENERATED} from {}:\n# {what} of the load testbed.\n{body}",
                template.display()
            ),
        )
        .with_context(|| format!("cannot write {}", to.join("robot.toml").display()))?;
    }
    Ok(())
}

/// `marc testbed idp`: the test OpenID provider until Ctrl-C.
fn idp(rt: &tokio::runtime::Runtime, a: IdpArgs) -> Result<i32> {
    use marc_testbed::idp::{demo_identities, Identities, Idp, IdpConfig};
    let identities: Identities = match &a.identities {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not an identities file", f.display()))?
        }
        None => demo_identities(&World::generate(a.seed)),
    };
    for u in a.redirect_uri.iter().chain(&a.post_logout_redirect_uri) {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(usage(format!(
                "{u}: a redirect URI must start with http:// or https://"
            )));
        }
    }
    let secret = a
        .client_secret
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let mut cfg = IdpConfig::new(identities.clone(), &a.client_id, &secret, "");
    cfg.redirect_uris.clone_from(&a.redirect_uri);
    cfg.post_logout_redirect_uris
        .clone_from(&a.post_logout_redirect_uri);
    cfg.cpr_claim.clone_from(&a.cpr_claim);
    cfg.cvr_claim.clone_from(&a.cvr_claim);
    cfg.port = a.port;
    let idp = Idp::start(cfg).context("cannot start the test identity provider")?;
    if a.json {
        let v = serde_json::json!({
            "issuer": idp.issuer,
            "client_id": a.client_id,
            "client_secret": secret,
            "redirect_uris": a.redirect_uri,
            "cpr_claim": a.cpr_claim,
            "cvr_claim": a.cvr_claim,
            "identities": identities,
        });
        println!("{v}");
    } else {
        println!("TEST identity provider — NOT MitID");
        println!("issuer         {}", idp.issuer);
        println!(
            "discovery      {}/.well-known/openid-configuration",
            idp.issuer
        );
        println!("client_id      {}", a.client_id);
        println!("client_secret  {secret}");
        for u in &a.redirect_uri {
            println!("redirect_uri   {u}");
        }
        println!(
            "claims         CPR in {}, CVR in {}, name",
            a.cpr_claim, a.cvr_claim
        );
        println!("identities (pick one on the login page; no password):");
        for p in &identities.persons {
            println!(
                "  {:<20} {}  {}",
                p.note.as_deref().unwrap_or("Person"),
                p.cpr,
                p.name
            );
        }
        for o in &identities.organisations {
            println!(
                "  {:<20} CVR {}  {} ({})",
                o.note.as_deref().unwrap_or("Virksomhed"),
                o.cvr,
                o.name,
                o.person
            );
        }
        println!("Ctrl-C stops it.");
    }
    rt.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    idp.stop();
    Ok(exit::OK)
}
