//! The test OpenID provider (issue 10 §4): a real authorization code flow
//! with PKCE as a client does it — over HTTP with a cookie jar, and in real
//! Chromium with axe-core on every page — the ID token's signature and CPR
//! claim, a wrong PKCE verifier refused, and the node process gone after
//! stop and after its owner is killed.

#[path = "hostile/support.rs"]
mod support;

use base64::Engine as _;
use marc_e2e::*;
use marc_testbed::idp::{demo_identities, Idp, IdpConfig, LAW_FIRM_CVR};
use marc_testbed::{World, DEMO_SEED};
use serde_json::Value;
use sha2::Digest as _;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::{Duration, Instant};

/// The client's redirect URI; nothing listens there, the tests read the
/// redirect instead of following it.
const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";
const CLIENT: &str = "marc-test";
const BANNER: &str = "TEST-login — dette er ikke MitID";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random(n: usize) -> String {
    let mut buf = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    b64(&buf)
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = random(32);
    let challenge = b64(&sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn start(cpr_claim: &str) -> (Idp, String) {
    let world = World::generate(DEMO_SEED);
    let secret = random(24);
    let mut cfg = IdpConfig::new(demo_identities(&world), CLIENT, &secret, REDIRECT);
    cfg.cpr_claim = cpr_claim.to_string();
    let idp = Idp::start(cfg).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        idp.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        idp.issuer
    );
    (idp, secret)
}

/// A browser-like client: a cookie jar, redirects read one by one.
struct Client {
    http: reqwest::blocking::Client,
    issuer: String,
    secret: String,
    disc: Value,
}

/// Where one authorization request ended: the client's redirect URI with
/// its query, or a page of the provider.
enum Stop {
    Redirect(reqwest::Url),
    Page(String, reqwest::blocking::Response),
}

impl Client {
    fn new(issuer: &str, secret: &str) -> Client {
        let http = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let disc: Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        Client {
            http,
            issuer: issuer.to_string(),
            secret: secret.to_string(),
            disc,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        self.disc[name].as_str().unwrap().to_string()
    }

    fn auth_url(&self, challenge: Option<(&str, &str)>, state: &str, nonce: &str) -> String {
        let mut url = reqwest::Url::parse(&self.endpoint("authorization_endpoint")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", CLIENT)
                .append_pair("response_type", "code")
                .append_pair("scope", "openid profile")
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("state", state)
                .append_pair("nonce", nonce);
            if let Some((c, method)) = challenge {
                q.append_pair("code_challenge", c)
                    .append_pair("code_challenge_method", method);
            }
        }
        url.to_string()
    }

    /// Follows redirects from `resp` until the client's redirect URI or a page.
    fn follow(&self, mut resp: reqwest::blocking::Response) -> Stop {
        for _ in 0..10 {
            if !resp.status().is_redirection() {
                let url = resp.url().to_string();
                return Stop::Page(url, resp);
            }
            let loc = resp.headers()["location"].to_str().unwrap().to_string();
            let next = resp.url().join(&loc).unwrap();
            if next.as_str().starts_with(REDIRECT) {
                return Stop::Redirect(next);
            }
            assert!(
                next.as_str().starts_with(&self.issuer),
                "redirected away from the provider: {next}"
            );
            resp = self.http.get(next).send().unwrap();
        }
        panic!("too many redirects");
    }

    fn page(&self, stop: Stop) -> (String, String) {
        match stop {
            Stop::Page(url, resp) => {
                assert_eq!(resp.status(), 200, "{url}");
                let csp = resp.headers()["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .to_string();
                assert!(csp.contains("default-src 'none'"), "{csp}");
                (url, resp.text().unwrap())
            }
            Stop::Redirect(u) => panic!("expected a page, got the redirect {u}"),
        }
    }

    fn post(&self, action: &str, form: &[(&str, &str)]) -> Stop {
        let url = reqwest::Url::parse(&self.issuer)
            .unwrap()
            .join(action)
            .unwrap();
        self.follow(self.http.post(url).form(form).send().unwrap())
    }

    /// Logs in as the identity whose button carries `data` (`data-cpr="…"`)
    /// and consents when asked: the redirect to the client.
    fn login(&self, auth_url: &str, data: &str) -> reqwest::Url {
        let (url, html) = self.page(self.follow(self.http.get(auth_url).send().unwrap()));
        assert!(url.contains("/interaction/"), "{url}");
        check_marked(&html);
        assert!(html.contains("<h1>Vælg en testidentitet</h1>"));
        let at = html
            .find(data)
            .unwrap_or_else(|| panic!("no identity with {data}"));
        let value = &html[..at];
        let value = &value[value.rfind("value=\"").unwrap() + 7..];
        let sub = &value[..value.find('"').unwrap()];
        let action = form_action(&html, "/login");
        let mut stop = self.post(&action, &[("identity", sub)]);
        if let Stop::Page(..) = stop {
            let (_, html) = self.page(stop);
            check_marked(&html);
            assert!(html.contains("id=\"consent\""), "{html}");
            stop = self.post(&form_action(&html, "/confirm"), &[]);
        }
        match stop {
            Stop::Redirect(u) => u,
            Stop::Page(url, r) => panic!("no redirect to the client: {url} {}", r.status()),
        }
    }

    fn token(&self, code: &str, verifier: Option<&str>) -> reqwest::blocking::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.http
            .post(self.endpoint("token_endpoint"))
            .basic_auth(CLIENT, Some(&self.secret))
            .form(&form)
            .send()
            .unwrap()
    }

    /// A whole login as the identity whose button carries `data`, with
    /// PKCE: the verified ID token's claims.
    fn claims_of_login(&self, data: &str) -> Value {
        let (verifier, challenge) = pkce();
        let (state, nonce) = (random(12), random(12));
        let back = self.login(
            &self.auth_url(Some((&challenge, "S256")), &state, &nonce),
            data,
        );
        assert_eq!(query(&back, "state").as_deref(), Some(state.as_str()));
        let r = self.token(&query(&back, "code").expect("a code"), Some(&verifier));
        assert_eq!(r.status(), 200);
        let tokens: Value = r.json().unwrap();
        self.verified_claims(tokens["id_token"].as_str().unwrap(), &nonce)
    }

    /// The ID token's claims after checking its RS256 signature against the
    /// provider's JWKS, its issuer, audience, nonce and expiry.
    fn verified_claims(&self, id_token: &str, nonce: &str) -> Value {
        let parts: Vec<&str> = id_token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let dec = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap()
        };
        let header: Value = serde_json::from_slice(&dec(parts[0])).unwrap();
        assert_eq!(header["alg"], "RS256");
        let jwks: Value = self
            .http
            .get(self.endpoint("jwks_uri"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("the signing key is in the JWKS");
        let n = dec(key["n"].as_str().unwrap());
        let e = dec(key["e"].as_str().unwrap());
        let signed = format!("{}.{}", parts[0], parts[1]);
        ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &dec(parts[2]),
            )
            .expect("the ID token's signature verifies");
        let claims: Value = serde_json::from_slice(&dec(parts[1])).unwrap();
        assert_eq!(claims["iss"], self.issuer.as_str());
        assert_eq!(claims["aud"], CLIENT);
        assert_eq!(claims["nonce"], nonce);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(claims["exp"].as_u64().unwrap() > now);
        claims
    }
}

fn query(u: &reqwest::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The form in `html` whose action ends with `suffix`.
fn form_action(html: &str, suffix: &str) -> String {
    html.match_indices("action=\"")
        .map(|(i, _)| {
            let rest = &html[i + 8..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .find(|a| a.ends_with(suffix))
        .unwrap_or_else(|| panic!("no form for {suffix}"))
}

/// Every page says at the top, before anything else, that this is a test
/// and not MitID; it is Danish and has one main heading.
fn check_marked(html: &str) {
    assert!(html.contains("<html lang=\"da\">"), "{html}");
    let body = &html[html.find("<body>").expect("body") + 6..];
    let first = body.trim_start();
    assert!(
        first.starts_with("<header class=\"test-banner\"")
            && first.find(BANNER) < first.find("<main>"),
        "the test banner is not first: {first}"
    );
    assert_eq!(html.matches("<h1").count(), 1, "{html}");
}

#[test]
fn code_flow_with_pkce_gives_a_signed_id_token_with_the_cpr() {
    let world = World::generate(DEMO_SEED);
    let demo = world.demo_citizen();
    let compact = demo.cpr.replace('-', "");
    let (idp, secret) = start("dk.cpr");
    let c = Client::new(&idp.issuer, &secret);
    assert_eq!(c.disc["issuer"], idp.issuer.as_str());
    assert_eq!(
        c.disc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        c.disc["response_types_supported"],
        serde_json::json!(["code"])
    );

    // Without PKCE, or with the plain method, the client gets an error back.
    for challenge in [None, Some(("abc".repeat(15), "plain"))] {
        let url = c.auth_url(
            challenge.as_ref().map(|(ch, m)| (ch.as_str(), *m)),
            "s0",
            "n0",
        );
        match c.follow(c.http.get(url).send().unwrap()) {
            Stop::Redirect(u) => {
                assert_eq!(
                    query(&u, "error").as_deref(),
                    Some("invalid_request"),
                    "{u}"
                )
            }
            Stop::Page(url, _) => panic!("a request without S256 PKCE got to {url}"),
        }
    }

    let (verifier, challenge) = pkce();
    let (state, nonce) = (random(12), random(12));
    let back = c.login(
        &c.auth_url(Some((&challenge, "S256")), &state, &nonce),
        &format!("data-cpr=\"{compact}\""),
    );
    assert_eq!(query(&back, "state").as_deref(), Some(state.as_str()));
    assert_eq!(query(&back, "iss").as_deref(), Some(idp.issuer.as_str()));
    let code = query(&back, "code").expect("a code");
    assert!(
        !back.as_str().contains(&compact),
        "the CPR is in a URL: {back}"
    );

    // A wrong verifier, or none, is refused; the right one gets tokens once.
    for wrong in [Some(pkce().0), None] {
        let r = c.token(&code, wrong.as_deref());
        assert_eq!(r.status(), 400);
        let v: Value = r.json().unwrap();
        assert!(
            ["invalid_grant", "invalid_request"].contains(&v["error"].as_str().unwrap()),
            "{v}"
        );
    }
    let r = c.token(&code, Some(&verifier));
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().unwrap();
    let claims = c.verified_claims(tokens["id_token"].as_str().unwrap(), &nonce);
    assert_eq!(claims["dk.cpr"], compact.as_str(), "{claims}");
    assert_eq!(claims["name"], demo.name.as_str());
    assert!(claims.get("dk.cvr").is_none());
    let userinfo = || -> Value {
        c.http
            .get(c.endpoint("userinfo_endpoint"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let info = userinfo();
    assert_eq!(info["dk.cpr"], compact.as_str(), "{info}");
    assert_eq!(info["sub"], claims["sub"]);
    // Logged in already: the next request goes straight back with a code.
    let (_, challenge2) = pkce();
    let r = c
        .http
        .get(c.auth_url(Some((&challenge2, "S256")), "s2", "n2"))
        .send()
        .unwrap();
    assert!(matches!(c.follow(r), Stop::Redirect(u) if query(&u, "code").is_some()));

    // A code used twice is refused, and what it gave is revoked.
    assert_eq!(
        c.token(&code, Some(&verifier)).status(),
        400,
        "a code twice"
    );
    assert_eq!(userinfo()["error"], "invalid_token");

    // The law firm (MitID Erhverv): its CVR and name, the person acting, no CPR.
    let firm = Client::new(&idp.issuer, &secret);
    let claims = firm.claims_of_login(&format!("data-cvr=\"{LAW_FIRM_CVR}\""));
    assert_eq!(claims["dk.cvr"], LAW_FIRM_CVR, "{claims}");
    assert!(claims["organization_name"]
        .as_str()
        .unwrap()
        .starts_with("Advokatfirma"));
    assert!(claims.get("dk.cpr").is_none());

    // A broker that names the claim differently.
    let (idp2, secret2) = start("cprNumberIdentifier");
    let c2 = Client::new(&idp2.issuer, &secret2);
    assert_ne!(idp2.issuer, idp.issuer);
    let claims = c2.claims_of_login(&format!("data-cpr=\"{compact}\""));
    assert_eq!(claims["cprNumberIdentifier"], compact.as_str(), "{claims}");
    assert!(claims.get("dk.cpr").is_none());

    // Stopped: the process is gone and nothing answers.
    for idp in [idp, idp2] {
        let pid = idp.pid();
        let issuer = idp.issuer.clone();
        assert!(marc_e2e::alive(pid));
        idp.stop();
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "node {pid} outlived stop()"
        );
        assert!(c.http.get(format!("{issuer}/jwks")).send().is_err());
    }
}

/// The provider's pages in real Chromium at a phone's width: marked as a
/// test at the top, no serious or critical axe-core violation, no sideways
/// scrolling; a person's clicks end at the client with a code.
#[test]
fn pages_in_chromium_are_marked_accessible_and_fit_a_phone() {
    let axe = root().join("tests/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `make deps` (npm ci --prefix tests)",
            axe.display()
        )
    });
    let world = World::generate(DEMO_SEED);
    let compact = world.demo_citizen().cpr.replace('-', "");
    let (idp, secret) = start("dk.cpr");
    let c = Client::new(&idp.issuer, &secret);
    let (verifier, challenge) = pkce();
    let auth = c.auth_url(Some((&challenge, "S256")), "s", "n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let driver = rt
        .block_on(marc_webdriver::Chromedriver::start(None))
        .unwrap();
    let opts = marc_webdriver::BrowserOptions {
        window: (390, 844),
        ..Default::default()
    };
    let b = rt
        .block_on(marc_webdriver::Browser::open(driver.url(), &opts))
        .unwrap();
    let check = |what: &str| rt.block_on(check_page(&b, &axe, what));
    rt.block_on(b.goto(&auth)).unwrap();
    check("login page");
    rt.block_on(click_to_next_page(
        &b,
        &format!("button[data-cpr='{compact}']"),
    ));
    check("consent page");
    rt.block_on(b.click("#consent")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let back = loop {
        let u = rt.block_on(b.current_url()).unwrap();
        if u.starts_with(REDIRECT) {
            break reqwest::Url::parse(&u).unwrap();
        }
        assert!(Instant::now() < deadline, "never back at the client: {u}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let code = query(&back, "code").expect("a code");
    let r = c.token(&code, Some(&verifier));
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().unwrap();
    let claims = c.verified_claims(tokens["id_token"].as_str().unwrap(), "n");
    assert_eq!(claims["dk.cpr"], compact.as_str());

    // The provider's other pages: an error, an unknown page, logout.
    for (url, what) in [
        (
            format!("{}/auth?client_id=nobody", idp.issuer),
            "error page",
        ),
        (format!("{}/no-such-page", idp.issuer), "404 page"),
        (format!("{}/session/end", idp.issuer), "logout page"),
    ] {
        rt.block_on(b.goto(&url)).unwrap();
        check(what);
    }
    rt.block_on(click_to_next_page(&b, "#logout"));
    check("logged-out page");
    let _ = rt.block_on(b.close());
    rt.block_on(driver.stop());
}

/// Clicks `selector` and waits until a new page has loaded: checking
/// right after a click could read the old page, or an element of it that
/// goes stale while it is read.
async fn click_to_next_page(b: &marc_webdriver::Browser, selector: &str) {
    b.execute("window.__marc_before_click = true", vec![])
        .await
        .unwrap();
    b.click(selector).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let loaded = b
            .execute(
                "return window.__marc_before_click === undefined && document.readyState === 'complete'",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(Value::Bool(true))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "clicking {selector} loaded no new page in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page in `b`: the test banner first, no sideways scrolling, no
/// serious or critical axe-core violation.
async fn check_page(b: &marc_webdriver::Browser, axe: &str, what: &str) {
    b.wait_for("#test-banner", 10_000).await.unwrap();
    let banner = b.text("#test-banner").await.unwrap();
    assert!(banner.contains(BANNER), "{what}: {banner}");
    let first = b
        .execute("return document.body.firstElementChild.id", vec![])
        .await
        .unwrap();
    assert_eq!(first, "test-banner", "{what}");
    let wide = b
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wide[0].as_u64() <= wide[1].as_u64(),
        "{what} scrolls sideways: {wide}"
    );
    b.execute(axe, vec![]).await.unwrap();
    let v = b
        .execute(
            "return axe.run(document, {resultTypes: ['violations']}).then(r => \
             r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
             .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(v, serde_json::json!([]), "{what}: axe-core violations");
}

/// `marc testbed idp` killed outright takes its node process with it.
#[test]
fn the_provider_dies_with_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut marc = support::marc_cmd(
        dir.path(),
        &support::args(&["testbed", "idp", "--redirect-uri", REDIRECT, "--json"]),
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("cannot start marc testbed idp");
    let mut line = String::new();
    BufReader::new(marc.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let issuer = v["issuer"].as_str().unwrap().to_string();
    assert!(!v["client_secret"].as_str().unwrap().is_empty());
    assert!(v["identities"]["persons"].as_array().unwrap().len() >= 3);
    let node: Vec<u32> = marc_e2e::descendants(marc.id())
        .into_iter()
        .filter(|p| marc_e2e::cmdline(*p).contains("idp.mjs"))
        .collect();
    assert_eq!(node.len(), 1, "one node process under marc");
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    assert!(http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .status()
        .is_success());
    marc.kill().unwrap(); // SIGKILL: no chance to clean up
    marc.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while marc_e2e::alive(node[0]) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survived = marc_e2e::alive(node[0]);
    if survived {
        let _ = std::process::Command::new("kill")
            .args(["-9", &node[0].to_string()])
            .status();
    }
    assert!(!survived, "node outlived its owner");
}
