//! `marc serve` as citizens and third parties use it (issue 10): real
//! Chromium through chromedriver against `marc serve --demo`, which runs
//! the testbed's case systems, the test OpenID provider (npm oidc-provider)
//! and the web app; the robots run for real behind it.

#[path = "web/support.rs"]
mod support;

use marc_e2e::*;
use support::*;

/// One suite, two stores: each test below runs as `on_sled::NAME` (the
/// embedded default) and `on_postgres::NAME` (`--database`, its jobs on
/// the shared queue).
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $( #[test] fn $name() { super::$name(super::Backing::Sled) } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { super::$name(super::Backing::Postgres) } )*
        }
    };
}

on_both_stores!(
    a_citizen_asks_follows_and_downloads_and_nobody_else_sees_it,
    third_parties_need_a_valid_consent,
    bad_input_and_lost_sessions_get_clear_pages,
    four_requests_at_once_complete_within_the_system_limits,
    a_caseworker_finds_reveals_takes_approves_and_refuses,
    a_caseworker_reviews_the_marks_and_documents_and_the_answer_shows_exactly_that,
    every_route_answers_only_those_it_is_for,
    an_administrator_adds_a_word_and_the_next_request_marks_it,
);

/// The whole citizen journey, and what others may not see of it.
fn a_citizen_asks_follows_and_downloads_and_nobody_else_sees_it(backing: Backing) {
    let s = Served::start(backing, &["--workers", "2"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen().clone();
    let b = s.browser();

    // Log in at the test identity provider, which says it is not MitID.
    b.go(&s.url("/"));
    assert!(b.body().contains("Log ind med MitID"));
    b.go(&s.url("/login"));
    assert!(b.body().contains("dette er ikke MitID"), "{}", b.body());
    b.axe_clean("the identity provider's login page");
    b.login_as(&citizen.name);
    assert!(b
        .body()
        .contains(&format!("Logget ind som {}", citizen.name)));

    // Ask for one topic only.
    b.go(&s.url("/ny"));
    b.axe_clean("the request form");
    b.check_topic("Jobcenter");
    b.submit("form[action='/ny']");
    assert!(b.body().contains("Kvittering"), "{}", b.body());
    let id = b.text("dl dd").trim().to_string();
    assert!(id.starts_with("AI-"), "{id}");
    assert!(!b.current_url().contains(&citizen.cpr.replace('-', "")));
    b.axe_clean("the receipt");

    // Follow it until it is sent; the status page changes on its own.
    b.go(&s.url(&format!("/anmodning/{id}")));
    let mut seen = std::collections::BTreeSet::new();
    let state = b.wait_for_state(
        &mut seen,
        &["Sendt", "Under behandling hos en sagsbehandler"],
        240,
    );
    assert_eq!(state, "Sendt", "states seen: {seen:?}");
    assert!(seen.len() >= 2, "the status page never changed: {seen:?}");
    b.axe_clean("the status page");

    // The answer holds exactly the documents of that topic.
    let pdf = b.download_bytes(&s.url(&format!("/anmodning/{id}/svar.pdf")));
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    let text = squash(&pdf_text(&pdf));
    let (wanted, unwanted): (Vec<_>, Vec<_>) = ["esdh", "legacy"]
        .iter()
        .flat_map(|sys| world.documents_for(sys, &citizen.cpr))
        .partition(|d| d.department == "Jobcenter");
    assert!(
        !wanted.is_empty() && !unwanted.is_empty(),
        "the testbed citizen needs both"
    );
    for d in &wanted {
        assert!(
            text.contains(&squash(&d.title)),
            "missing {}: {}",
            d.doc_id,
            d.title
        );
    }
    for d in &unwanted {
        assert!(
            !text.contains(&squash(&d.title)) || wanted.iter().any(|w| w.title == d.title),
            "{} ({}) is outside the topic but in the answer",
            d.doc_id,
            d.department
        );
    }

    // A second citizen: not found, by URL, for the page and the PDF.
    let other = s.identities_persons()[1].clone();
    let b2 = s.browser();
    b2.go(&s.url("/login"));
    b2.login_as(&other);
    b2.go(&s.url(&format!("/anmodning/{id}")));
    assert!(b2.body().contains("Siden findes ikke"), "{}", b2.body());
    assert_eq!(
        b2.status_of(&s.url(&format!("/anmodning/{id}/svar.pdf"))),
        404
    );
    assert_eq!(
        b2.status_of(&s.url(&format!("/anmodning/{id}/kvittering"))),
        404
    );
    b2.go(&s.url("/mine"));
    assert!(!b2.body().contains(&id));

    // A form without its CSRF token is refused, and nothing is made.
    b2.go(&s.url("/ny"));
    b2.js("document.querySelector(\"form[action='/ny'] input[name=csrf]\").remove()");
    b2.submit("form[action='/ny']");
    assert!(
        b2.body().contains("Formularen kunne ikke godkendes"),
        "{}",
        b2.body()
    );
    b2.go(&s.url("/mine"));
    assert!(b2.body().contains("ingen anmodninger"), "{}", b2.body());

    // Every page at 390 px: nothing scrolls sideways.
    for b in [&b, &b2] {
        b.narrow();
        for path in [
            "/",
            "/mine",
            "/ny",
            "/samtykker",
            &format!("/anmodning/{id}"),
        ] {
            b.go(&s.url(path));
            b.no_sideways_scroll(path);
        }
    }
}

/// Third parties ask only inside a valid consent; the citizen grants and
/// revokes, and each event is audited.
fn third_parties_need_a_valid_consent(backing: Backing) {
    let s = Served::start(backing, &["--workers", "2"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen().clone();
    let firm = s.identities_orgs()[0].clone();
    let b = s.browser();
    b.go(&s.url("/login"));
    b.login_as(&citizen.name);
    b.go(&s.url("/samtykker"));
    b.axe_clean("the consents page");
    // Valid now, for Jobcenter.
    b.grant(&firm.cvr, &firm.name, &["Jobcenter"], "", "");
    assert!(b.body().contains("er givet"), "{}", b.body());
    // Expired yesterday.
    let today = chrono::Local::now().date_naive();
    let long_ago = (today - chrono::Duration::days(60)).to_string();
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    b.grant(
        &firm.cvr,
        &format!("{} (gammel)", firm.name),
        &[],
        &long_ago,
        &yesterday,
    );
    // One to revoke.
    b.grant(&firm.cvr, &format!("{} (trukket)", firm.name), &[], "", "");
    b.click_button_containing("Tilbagekald samtykket til Advokatfirmaet Krogh & Vind (trukket)");
    assert!(b.body().contains("er tilbagekaldt"), "{}", b.body());

    let f = s.browser();
    f.go(&s.url("/login"));
    f.login_as(&firm.name);
    f.go(&s.url("/samtykker"));
    let links = f.hrefs("a[href^='/paa-vegne/']");
    assert_eq!(links.len(), 3, "three consents given to the firm");
    // Expired and revoked: refused with the reason, nothing runs.
    let mut refused = Vec::new();
    for l in &links {
        f.go(&s.url(l));
        let body = f.body();
        if body.contains("udløb") || body.contains("tilbagekaldt") {
            refused.push(body.contains("udløb"));
            assert!(
                !body.contains("Send anmodning"),
                "a form under a void consent"
            );
            // Posting straight to a void consent is refused too, and audited.
            let (status, page) = f.post_form(
                &s.url(l),
                &[
                    ("from", ""),
                    ("to", ""),
                    ("topic", "Jobcenter"),
                    ("key", "k1"),
                ],
            );
            assert!(
                status >= 400 && (page.contains("udløb") || page.contains("tilbagekaldt")),
                "{status} {page}"
            );
            continue;
        }
        // The valid one: the form offers only the consent's topic.
        assert!(
            body.contains("Jobcenter") && !body.contains("Handicap"),
            "{body}"
        );
        f.axe_clean("the third party's request form");
        f.submit("form[action^='/paa-vegne/']");
        assert!(f.body().contains("Kvittering"), "{}", f.body());
        // The receipt goes to the firm's digital mailbox, not the citizen's.
        let id = f.text("dl dd").trim().to_string();
        let receipts = s.outbox_messages(&id);
        assert!(!receipts.is_empty(), "no receipt for {id}");
        for m in &receipts {
            assert!(
                m.contains(&firm.cvr) && !m.contains(&citizen.cpr.replace('-', "")),
                "a letter of {id} not addressed to the firm: {m}"
            );
        }
    }
    refused.sort();
    assert_eq!(refused, [false, true], "one revoked, one expired refusal");
    f.go(&s.url("/mine"));
    assert_eq!(
        f.count("ul.cards > li"),
        1,
        "exactly one request, under the valid consent"
    );

    let log = s.audit_log();
    for action in ["consent.granted", "consent.revoked", "consent.refused"] {
        assert!(log.contains(action), "{action} not audited");
    }
}

/// Bad input gets a clear message and loses nothing.
fn bad_input_and_lost_sessions_get_clear_pages(backing: Backing) {
    let s = Served::start(backing, &["--workers", "1"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen().clone();
    let b = s.browser();
    b.go(&s.url("/login"));
    b.login_as(&citizen.name);

    // A malformed period.
    b.go(&s.url("/ny"));
    b.js("let f = document.getElementById('from'); f.type = 'text'; f.value = '2020-13-45';");
    b.submit("form[action='/ny']");
    assert!(
        b.body().contains("Perioden kan ikke bruges"),
        "{}",
        b.body()
    );
    // A period that ends before it starts.
    b.js("document.getElementById('from').value = '2024-01-01'; document.getElementById('to').value = '2023-01-01';");
    b.submit("form[action='/ny']");
    assert!(
        b.body().contains("Perioden kan ikke bruges"),
        "{}",
        b.body()
    );
    // An unknown topic.
    b.go(&s.url("/ny"));
    b.js("let c = document.querySelector('input[name=topic]'); c.value = 'Skattefidus'; c.checked = true;");
    b.submit("form[action='/ny']");
    assert!(
        b.body().contains("Emnet »Skattefidus« findes ikke"),
        "{}",
        b.body()
    );
    b.go(&s.url("/mine"));
    assert!(
        b.body().contains("ingen anmodninger"),
        "nothing was made: {}",
        b.body()
    );

    // The same form sent twice makes one request.
    b.go(&s.url("/ny"));
    b.check_topic("Handicap");
    b.js("let f = document.querySelector(\"form[action='/ny']\"); \
          let d = new FormData(f); \
          window.__twice = Promise.all([1, 2].map(() => fetch('/ny', {method: 'POST', body: new URLSearchParams(d)})));");
    b.submit("form[action='/ny']");
    std::thread::sleep(std::time::Duration::from_secs(2));
    b.go(&s.url("/mine"));
    assert_eq!(
        b.count("ul.cards > li"),
        1,
        "one request from three identical submissions"
    );

    // A session that ended: the form is not sent, and the page says why.
    b.go(&s.url("/ny"));
    b.delete_cookies();
    b.submit("form[action='/ny']");
    assert!(b.body().contains("Din session er udløbet"), "{}", b.body());
    b.go(&s.url("/mine"));
    assert!(
        b.current_url().contains("/interaction/") || b.body().contains("Vælg en testidentitet")
    );

    // Unknown pages and ids: the same not-found page.
    let b = s.browser();
    b.go(&s.url("/login"));
    b.login_as(&citizen.name);
    b.go(&s.url("/anmodning/AI-2026-999999-ffff"));
    assert!(b.body().contains("Siden findes ikke"));
    b.go(&s.url("/ingen/side"));
    assert!(b.body().contains("Siden findes ikke"));
}

/// The identity provider down: the login page says so (503), no 500.
#[test]
fn an_identity_provider_that_is_down_gets_a_clear_page() {
    let s = Served::start_plain_with_dead_idp();
    let b = s.browser();
    assert_eq!(b.status_of(&s.url("/login")), 503);
    b.go(&s.url("/login"));
    assert!(
        b.body().contains("login-tjenesten ikke svarer"),
        "{}",
        b.body()
    );
    b.axe_clean("the login-unavailable page");
    // The security headers are on every page.
    let h = s.headers("/");
    assert!(
        h.contains("content-security-policy: default-src 'self'; script-src 'self'"),
        "{h}"
    );
    assert!(
        h.contains("x-frame-options: deny") && h.contains("referrer-policy: no-referrer"),
        "{h}"
    );
}

/// Four requests at once all complete, each right against the ground
/// truth, with no system serving more robot sessions at once than its
/// manifest allows.
fn four_requests_at_once_complete_within_the_system_limits(backing: Backing) {
    let s = Served::start(backing, &["--workers", "4"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let people = s.identities_persons();
    let mut ids = Vec::new();
    let browsers: Vec<_> = people.iter().take(3).map(|_| s.browser()).collect();
    for (b, who) in browsers.iter().zip(&people) {
        b.go(&s.url("/login"));
        b.login_as(who);
    }
    // Four at once: three citizens, one of them twice (two topics).
    let plan = [(0, "Jobcenter"), (1, ""), (2, ""), (0, "Sygedagpenge")];
    for (i, topic) in plan {
        let b = &browsers[i];
        b.go(&s.url("/ny"));
        if !topic.is_empty() {
            b.check_topic(topic);
        }
        b.submit("form[action='/ny']");
        ids.push((i, topic, b.text("dl dd").trim().to_string()));
    }
    for (i, topic, id) in &ids {
        let b = &browsers[*i];
        b.go(&s.url(&format!("/anmodning/{id}")));
        let mut seen = Default::default();
        let st = b.wait_for_state(
            &mut seen,
            &["Sendt", "Under behandling hos en sagsbehandler"],
            400,
        );
        assert_eq!(st, "Sendt", "{id}");
        let pdf = b.download_bytes(&s.url(&format!("/anmodning/{id}/svar.pdf")));
        let text = squash(&pdf_text(&pdf));
        let cpr = s.cpr_of(&people[*i]);
        for d in ["esdh", "legacy"]
            .iter()
            .flat_map(|sys| world.documents_for(sys, &cpr))
        {
            if topic.is_empty() || d.department == *topic {
                assert!(
                    text.contains(&squash(&d.title)),
                    "{id}: missing {}",
                    d.doc_id
                );
            }
        }
    }
    let most = s.most_sessions_at_once();
    for (system, n) in &most {
        assert!(
            *n <= 2,
            "{system} served {n} robot sessions at once (limit 2)"
        );
    }
    assert!(
        most.values().any(|n| *n >= 2),
        "the requests never ran side by side: {most:?}"
    );
    s.stop_leaving_nothing();
}

/// The staff side: a caseworker made on the command line while the server
/// runs logs in with a password, finds a citizen's request in the list
/// (CPR number masked), reveals it (audited), takes the case, approves the
/// held answer (sent) and refuses another request with a reason (a letter
/// to the citizen); a wrong password, a refusal without a reason and a
/// citizen at the staff pages are refused.
fn a_caseworker_finds_reveals_takes_approves_and_refuses(backing: Backing) {
    // Every answer waits for a caseworker.
    let s = Served::start_with_config(backing, "control = \"review\"\n", &["--workers", "2"]);
    let people = s.identities_persons();
    let c = s.browser();
    c.go(&s.url("/login"));
    c.login_as(&people[0]);
    c.go(&s.url("/ny"));
    c.submit("form[action='/ny']");
    let id = c.text("dl dd").trim().to_string();
    assert!(id.starts_with("AI-"), "{id}");
    let cpr = s.cpr_of(&people[0]);

    // Refused on the command line: a short password, a second "kim".
    let out = s.staff_add("kim", "caseworker", "kort");
    assert!(
        !out.status.success() && stderr(&out).contains("too short"),
        "{}",
        stderr(&out)
    );
    let out = s.staff_add("kim", "caseworker", "en lang adgangskode 42");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = s.staff_add("kim", "caseworker", "en anden lang kode 43");
    assert!(stderr(&out).contains("already"), "{}", stderr(&out));

    let b = s.browser();
    b.go(&s.url("/sager"));
    assert!(
        b.current_url().contains("/personale"),
        "{}",
        b.current_url()
    );
    b.axe_clean("the staff login");
    s.staff_login(&b, "kim", "forkert adgangskode");
    assert!(
        b.body().contains("Forkert brugernavn eller adgangskode"),
        "{}",
        b.body()
    );
    s.staff_login(&b, "kim", "en lang adgangskode 42");
    assert!(b.current_url().ends_with("/sager"), "{}", b.current_url());
    let list = b.body();
    assert!(list.contains(&id), "{list}");
    assert!(!list.contains(&cpr), "the list shows a full CPR number");
    assert!(list.contains(&format!("{}-••••", &cpr[..6])), "{list}");
    b.axe_clean("the case list");
    // Found by the CPR number without its hyphen, and by name; not by another.
    for q in [cpr.replace('-', ""), people[0].to_lowercase()] {
        b.go(&s.url(&format!("/sager?q={}", q.replace(' ', "+"))));
        assert!(b.body().contains(&id), "not found by {q}");
    }
    b.go(&s.url("/sager?q=ingen-saadan-sag"));
    assert!(!b.body().contains(&id));
    b.go(&s.url("/sager?sort=name&desc=1&status=received"));
    assert_eq!(b.status_of(&s.url("/sager?sort=name&desc=1")), 200);

    // The case page: masked until revealed; the reveal is audited.
    b.go(&s.url(&format!("/sager/{id}")));
    assert!(!b.body().contains(&cpr));
    b.submit(&format!("form[action='/sager/{id}/cpr']"));
    assert!(b.body().contains(&cpr), "{}", b.body());
    b.go(&s.url(&format!("/sager/{id}")));
    assert!(!b.body().contains(&cpr), "the reveal outlived its page");
    b.submit(&format!("form[action='/sager/{id}/tildel']"));
    assert!(b.body().contains("Frigiv sagen"), "{}", b.body());
    b.axe_clean("the case page");
    b.narrow();
    for path in ["/sager".to_string(), format!("/sager/{id}")] {
        b.go(&s.url(&path));
        b.no_sideways_scroll(&path);
    }
    b.go(&s.url("/sager"));
    assert!(b.body().contains("kim"), "the caseworker column");

    // The answer waits for a caseworker (control level review): approve it.
    c.go(&s.url(&format!("/anmodning/{id}")));
    let mut seen = Default::default();
    let st = c.wait_for_state(
        &mut seen,
        &["Under behandling hos en sagsbehandler", "Sendt"],
        400,
    );
    assert_eq!(st, "Under behandling hos en sagsbehandler");
    // It is in the caseworkers' queue, with the reason it waits.
    b.go(&s.url("/sager?status=venter"));
    assert!(b.body().contains(&id), "{}", b.body());
    // An internal note, for staff only.
    let note = "Ringet til borgeren om perioden.";
    b.go(&s.url(&format!("/sager/{id}")));
    b.fill("#note", note);
    b.submit(&format!("form[action='/sager/{id}/notat']"));
    assert!(b.body().contains(note), "{}", b.body());
    c.go(&s.url(&format!("/anmodning/{id}")));
    assert!(
        !c.body().contains(note),
        "the citizen sees an internal note"
    );
    b.go(&s.url(&format!("/sager/{id}/dokumenter")));
    b.submit(&format!("form[action='/sager/{id}/godkend']"));
    assert!(b.body().contains("Sendt"), "{}", b.body());
    let pdf = c.download_bytes(&s.url(&format!("/anmodning/{id}/svar.pdf")));
    assert!(
        pdf.starts_with(b"%PDF"),
        "the approved answer is not downloadable"
    );
    // Forwarded to the municipality the citizen moved to: not without a
    // valid CVR number, then once.
    b.fill("#fwd-name", "Nabokommune");
    b.fill("#fwd-cvr", "123");
    b.submit(&format!("form[action='/sager/{id}/videresend']"));
    assert!(b.body().contains("8 digits"), "{}", b.body());
    b.go(&s.url(&format!("/sager/{id}")));
    b.fill("#fwd-name", "Nabokommune");
    b.fill("#fwd-cvr", "29189900");
    b.submit(&format!("form[action='/sager/{id}/videresend']"));
    assert!(
        s.outbox_messages(&id)
            .iter()
            .any(|m| m.contains("Videresendt til Nabokommune") && m.contains("29189900")),
        "no forwarded message for {id}"
    );

    // A second request, refused: not without a reason, then with one.
    c.go(&s.url("/ny"));
    c.submit("form[action='/ny']");
    let id2 = c.text("dl dd").trim().to_string();
    // First its deadline is moved, with a reason the citizen is sent.
    let later = (chrono::Local::now().date_naive() + chrono::Duration::days(40)).to_string();
    b.go(&s.url(&format!("/sager/{id2}")));
    b.fill("#deadline", &later);
    b.js("document.querySelector('#deadline-reason').removeAttribute('required')");
    b.submit(&format!("form[action='/sager/{id2}/frist']"));
    assert!(b.body().contains("Skriv en begrundelse"), "{}", b.body());
    b.go(&s.url(&format!("/sager/{id2}")));
    b.fill("#deadline", &later);
    b.fill(
        "#deadline-reason",
        "Sagen kræver høring af en anden myndighed.",
    );
    b.submit(&format!("form[action='/sager/{id2}/frist']"));
    let new_deadline = b.text(".due");
    assert!(
        s.outbox_messages(&id2)
            .iter()
            .any(|m| m.contains("Ny frist")),
        "no letter about the new deadline of {id2}"
    );
    c.go(&s.url(&format!("/anmodning/{id2}")));
    assert!(
        new_deadline.contains(&later[..4])
            && c.body().contains(new_deadline.split(" (").next().unwrap()),
        "the citizen does not see the new deadline {new_deadline}: {}",
        c.body()
    );
    b.go(&s.url(&format!("/sager/{id2}")));
    b.js("document.querySelector('#reason').removeAttribute('required')");
    b.submit(&format!("form[action='/sager/{id2}/afslag']"));
    assert!(b.body().contains("Skriv en begrundelse"), "{}", b.body());
    let reason = "Oplysningerne er undtaget efter offentlighedslovens § 30.";
    b.go(&s.url(&format!("/sager/{id2}")));
    b.fill("#reason", reason);
    b.submit(&format!("form[action='/sager/{id2}/afslag']"));
    assert!(b.body().contains("Afslået"), "{}", b.body());
    c.go(&s.url(&format!("/anmodning/{id2}")));
    assert!(c.body().contains("Afslået"), "{}", c.body());
    assert!(
        s.outbox_messages(&id2).iter().any(|m| m.contains("afslag")),
        "no refusal letter for {id2}"
    );

    // A manager sees the figures, not the cases; a caseworker the cases,
    // not the figures.
    let out = s.staff_add("lis", "manager", "ledelsens lange kode 7");
    assert!(out.status.success(), "{}", stderr(&out));
    let m = s.browser();
    s.staff_login(&m, "lis", "ledelsens lange kode 7");
    assert!(
        m.current_url().contains("/statistik"),
        "{}",
        m.current_url()
    );
    assert_eq!(m.text("#total").trim(), "2", "{}", m.body());
    assert_eq!(m.count("svg.chart"), 5);
    m.axe_clean("the statistics");
    let csv = String::from_utf8(m.download_bytes(&s.url("/statistik.csv"))).unwrap();
    assert!(
        csv.contains("udfald,afslag,1\n") && csv.contains("i alt,anmodninger,2\n"),
        "{csv}"
    );
    m.go(&s.url("/statistik?from=2026-12-31&to=2026-01-01"));
    assert!(m.body().contains("slutter"), "{}", m.body());
    assert_eq!(
        m.status_of(&s.url(&format!("/sager/{id}"))),
        404,
        "a manager reads a case"
    );
    // ... and what each person did, in the audit log.
    m.go(&s.url("/revision?person=kim"));
    let trail = m.body();
    assert!(
        trail.contains("cpr.revealed") && trail.contains("request.refused"),
        "{trail}"
    );
    assert!(
        !trail.contains("citizen:"),
        "a filter by person shows others: {trail}"
    );
    m.axe_clean("the audit log");
    assert_eq!(
        b.status_of(&s.url("/revision")),
        404,
        "a caseworker reads the audit log"
    );
    assert_eq!(
        b.status_of(&s.url("/statistik")),
        404,
        "a caseworker reads statistics"
    );

    // An administrator exempts a citizen (with a reason) and lifts it again.
    let out = s.staff_add("ada", "admin", "administratorens kode 99");
    assert!(out.status.success(), "{}", stderr(&out));
    let a = s.browser();
    s.staff_login(&a, "ada", "administratorens kode 99");
    a.go(&s.url("/admin"));
    let page = a.body();
    assert!(
        page.contains("kim") && page.contains("lis") && page.contains("ada"),
        "{page}"
    );
    a.axe_clean("the administration page");
    let other = s.cpr_of(&people[1]);
    a.fill("#ex-cpr", &other);
    a.js("document.querySelector('#ex-reason').removeAttribute('required')");
    a.submit("form[action='/admin/undtagelse']");
    assert!(a.body().contains("Skriv en begrundelse"), "{}", a.body());
    a.go(&s.url("/admin"));
    a.fill("#ex-cpr", "311399-1234");
    a.fill("#ex-reason", "Forkert nummer.");
    a.submit("form[action='/admin/undtagelse']");
    assert!(
        a.body().contains("CPR-nummeret er ikke gyldigt"),
        "{}",
        a.body()
    );
    a.go(&s.url("/admin"));
    a.fill("#ex-cpr", &other);
    a.fill("#ex-reason", "Verserende politisag.");
    a.submit("form[action='/admin/undtagelse']");
    let page = a.body();
    assert!(
        page.contains("Verserende politisag.") && page.contains(&format!("{}-••••", &other[..6])),
        "{page}"
    );
    a.submit("form[action='/admin/undtagelse/fjern']");
    assert!(!a.body().contains("Verserende politisag."), "{}", a.body());
    assert_eq!(
        b.status_of(&s.url("/admin")),
        404,
        "a caseworker administers"
    );

    // A citizen is not staff.
    assert_eq!(c.status_of(&s.url("/sager")), 404);
    assert_eq!(c.status_of(&s.url("/admin")), 404);
    assert_eq!(c.status_of(&s.url("/statistik")), 404);
    assert_eq!(c.status_of(&s.url(&format!("/sager/{id}"))), 404);

    let log = s.audit_log();
    for action in [
        "staff.added",
        "staff.login_refused",
        "staff.login",
        "cpr.revealed",
        "request.assigned",
        "request.approved",
        "request.refused",
        "refusal.sent",
        "audit.read",
        "request.deadline_extended",
        "deadline.sent",
        "request.note_added",
        "request.forwarded",
        "exemption.added",
        "exemption.removed",
    ] {
        assert!(log.contains(action), "{action} not audited:\n{log}");
    }
    assert!(log.contains("staff:kim"), "{log}");
    assert!(
        !log.contains("en lang adgangskode"),
        "a password in the audit log"
    );
}

/// The review of an answer (issue 11): a caseworker rejects one mark, adds
/// one by selecting text, excludes a document with a legal reason and adds
/// one; a non-PDF binary, a 200 MB file and a stale page are refused with
/// nothing changed; the approved answer (checked with pdftotext) shows
/// exactly those changes, and the leak check passed (it was sent).
fn a_caseworker_reviews_the_marks_and_documents_and_the_answer_shows_exactly_that(
    backing: Backing,
) {
    let s = Served::start_with_config(backing, "control = \"review\"\n", &["--workers", "2"]);
    let people = s.identities_persons();
    let c = s.browser();
    c.go(&s.url("/login"));
    c.login_as(&people[0]);
    c.go(&s.url("/ny"));
    c.submit("form[action='/ny']");
    let id = c.text("dl dd").trim().to_string();
    c.go(&s.url(&format!("/anmodning/{id}")));
    let mut seen = Default::default();
    let st = c.wait_for_state(
        &mut seen,
        &["Under behandling hos en sagsbehandler", "Sendt"],
        400,
    );
    assert_eq!(st, "Under behandling hos en sagsbehandler");

    for (who, pw) in [
        ("kim", "kims lange adgangskode"),
        ("eva", "evas lange adgangskode"),
    ] {
        let out = s.staff_add(who, "caseworker", pw);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let b = s.browser();
    s.staff_login(&b, "kim", "kims lange adgangskode");
    let overview = s.url(&format!("/sager/{id}/dokumenter"));
    b.go(&overview);
    b.axe_clean("the review overview");
    let docs = b.hrefs("table.documents a");
    assert!(docs.len() >= 3, "too few documents to review: {docs:?}");

    // Every document's text, to choose what to change by what is unique.
    let mut texts: Vec<(String, String)> = Vec::new();
    for d in &docs {
        b.go(d);
        let t = b
            .js("return Array.from(document.querySelectorAll('h1, .doctext')).map(e => e.textContent).join('\\n');")
            .as_str()
            .unwrap()
            .to_string();
        texts.push((d.clone(), t));
    }
    let all = texts
        .iter()
        .map(|(_, t)| t.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    let once = |w: &str| {
        let w = w.to_lowercase();
        all.match_indices(&w)
            .filter(|(i, _)| {
                let before = all[..*i].chars().next_back();
                let after = all[i + w.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
            .count()
            == 1
    };
    // A document with a mark whose text occurs once in the whole request.
    let (doc_a, rejected) = texts
        .iter()
        .find_map(|(d, _)| {
            b.go(d);
            let marks: Vec<String> = serde_json::from_value(b.js(
                "return Array.from(document.querySelectorAll('.doctext mark')).map(m => m.textContent);",
            ))
            .unwrap();
            marks
                .into_iter()
                .find(|m| m.len() >= 6 && once(m))
                .map(|m| (d.clone(), m))
        })
        .expect("no document has a mark that occurs once");
    // A word of that document, unmarked and occurring once, to mark.
    b.go(&doc_a);
    let words: Vec<String> = serde_json::from_value(b.js(
        "return Array.from(document.querySelectorAll('.doctext span')).flatMap(s => s.textContent.split(/[^A-Za-zÆØÅæøå]+/));",
    ))
    .unwrap();
    let added = words
        .into_iter()
        .find(|w| w.chars().count() >= 7 && once(w) && !rejected.contains(w.as_str()))
        .expect("no unmarked word occurs once");
    // The document to exclude, and three words in a row only it has (a
    // single word could stand in the answer's own text too).
    let (doc_x, excluded_phrase) = texts
        .iter()
        .filter(|(d, _)| *d != doc_a)
        .find_map(|(d, t)| {
            t.lines().skip(1).find_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                words.windows(3).find_map(|w| {
                    let plain = w
                        .iter()
                        .all(|x| x.chars().count() >= 3 && x.chars().all(char::is_alphabetic));
                    let phrase = w.join(" ");
                    (plain && once(&phrase)).then(|| (d.clone(), phrase))
                })
            })
        })
        .expect("no other document has three words of its own");

    // Reject the mark.
    b.go(&doc_a);
    let n: u64 = b
        .js(&format!(
            "return Array.from(document.querySelectorAll('.doctext mark')).find(m => m.textContent === {:?}).id.split('-')[1];",
            rejected
        ))
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    b.axe_clean("a document under review");
    b.click_button_containing(&format!("Afvis nr. {n}"));
    assert!(
        b.count(".doctext mark.rejected") >= 1,
        "the rejected mark is not shown as rejected"
    );
    // Add a mark by selecting the word in the text (the page's script
    // fills the form with the text and where it starts).
    b.js(&format!(
        "let w = {added:?};
         let span = Array.from(document.querySelectorAll('.doctext span')).find(s => s.textContent.includes(w));
         let node = span.firstChild; let i = node.textContent.indexOf(w);
         let r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + w.length);
         let sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
         document.dispatchEvent(new MouseEvent('mouseup', {{bubbles: true}}));"
    ));
    assert_eq!(
        b.js("return document.querySelector('#mark-text').value;"),
        serde_json::json!(added)
    );
    assert_ne!(
        b.js("return document.querySelector('#mark-at').value;"),
        serde_json::json!("")
    );
    b.submit("#add-mark");
    let marked: Vec<String> = serde_json::from_value(b.js(
        "return Array.from(document.querySelectorAll('.doctext mark:not(.rejected)')).map(m => m.textContent);",
    ))
    .unwrap();
    assert!(marked.contains(&added), "{added} not marked: {marked:?}");

    // Exclude the other document: not without a reason, then as internal.
    b.go(&doc_x);
    b.js("document.querySelector('#reason').removeAttribute('required')");
    b.submit("#exclude");
    assert!(b.body().contains("vælg en begrundelse"), "{}", b.body());
    b.go(&doc_x);
    b.js("document.querySelector('#reason').value = 'intern'");
    b.submit("#exclude");
    assert!(b.body().contains("Nej – undtaget"), "{}", b.body());

    // Uploads: a binary that is not a PDF, and 200 MB, are refused.
    b.go(&overview);
    let revision = b.js("return document.querySelector('input[name=revision]').value;");
    let revision = revision.as_str().unwrap().to_string();
    let upload = s.url(&format!("/sager/{id}/tilfoej"));
    let fields = [
        ("revision", revision.as_str()),
        ("title", "Notat fra telefonen"),
    ];
    let (st, page) = b.upload(
        &upload,
        &fields,
        "notat.pdf",
        vec![0x00, 0xff, 0x13, 0x37, 0x00, 0x9c],
    );
    assert_eq!(st, 422, "{page}");
    assert!(
        page.contains("hverken en PDF-fil eller en tekstfil"),
        "{page}"
    );
    let (st, page) = b.upload(&upload, &fields, "stor.txt", vec![b'a'; 200 * 1024 * 1024]);
    assert_eq!(st, 413, "{page}");
    assert!(page.contains("højst fylde 20 MB"), "{page}");
    let own = "Telefonnotat: borgeren bad om kopi af Kvitteringsbrevet";
    let (st, page) = b.upload(&upload, &fields, "notat.txt", own.as_bytes().to_vec());
    assert_eq!(st, 303, "{page}");
    b.go(&overview);
    assert!(
        b.body().contains("Tilføjet af sagsbehandler"),
        "{}",
        b.body()
    );

    // A stale page: eva looks, kim changes something, eva approves what she
    // saw: a conflict, nothing sent; then kim undoes it again.
    let e = s.browser();
    s.staff_login(&e, "eva", "evas lange adgangskode");
    // Bulk: eva takes the chosen cases from the list, then gives them back.
    e.go(&s.url("/sager"));
    e.js(&format!(
        "document.getElementById('vaelg-{id}').checked = true;"
    ));
    e.click_button_containing("Tag de valgte sager");
    assert!(
        e.text("table.worklist tbody").contains("eva"),
        "{}",
        e.body()
    );
    e.js(&format!(
        "document.getElementById('vaelg-{id}').checked = true;"
    ));
    e.click_button_containing("Frigiv de valgte sager");
    assert!(
        !e.text("table.worklist tbody").contains("eva"),
        "{}",
        e.body()
    );
    e.go(&overview);
    b.go(&overview);
    b.fill("#term", "Kvitteringsbrevet");
    b.submit("form:has(input[value='marker-alle'])");
    e.submit(&format!("form[action='/sager/{id}/godkend']"));
    assert!(e.body().contains("har ændret sagen"), "{}", e.body());
    b.go(&overview);
    assert!(
        b.body().contains("Under behandling hos en sagsbehandler"),
        "an answer was sent on a stale page: {}",
        b.body()
    );
    b.submit("form:has(input[value='fortryd']):not(:has(input[name=decision]))");
    b.go(&overview);
    assert!(b.body().contains("fortrudt af kim"), "{}", b.body());

    // Approve: assembled again from the decisions, leak-checked, sent.
    b.submit(&format!("form[action='/sager/{id}/godkend']"));
    assert!(b.body().contains("Sendt"), "{}", b.body());
    let pdf = c.download_bytes(&s.url(&format!("/anmodning/{id}/svar.pdf")));
    let text = pdf_text(&pdf);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&rejected),
        "the rejected mark {rejected:?} is not in the answer"
    );
    assert!(
        !flat.contains(&added),
        "the added mark {added:?} is in the answer"
    );
    assert!(
        !flat.contains(&excluded_phrase),
        "the excluded document's {excluded_phrase:?} is in the answer"
    );
    assert!(
        flat.contains("Internt arbejdsdokument"),
        "the exclusion's reason is not named"
    );
    assert!(
        flat.contains("Kvitteringsbrevet"),
        "the uploaded document is not in the answer"
    );
    // Every decision is in the audit log, as who made it, without the text.
    let log = s.audit_log();
    for action in [
        "review.mark_rejected",
        "review.mark_added",
        "review.document_excluded",
        "review.document_added",
        "review.term_marked",
        "review.undone",
    ] {
        assert!(log.contains(action), "{action} is not audited");
    }
    assert!(!log.contains(&added), "the audit log holds a marked text");
    // The robot sessions behind it, in the app: every step, no password.
    b.go(&s.url(&format!("/sager/{id}")));
    let traces = b.hrefs("a[href*='/robot/']");
    assert!(!traces.is_empty(), "no robot session on the case page");
    b.go(&traces[0]);
    let trace = b.body();
    assert!(
        trace.contains("marc session") && trace.contains("steps"),
        "{trace}"
    );
    b.axe_clean("a robot session's trace");
    for (_, _, pw) in marc_testbed::server::CREDENTIALS {
        assert!(!trace.contains(pw), "a robot password on the trace page");
    }
    assert!(
        s.audit_log().contains("trace.viewed"),
        "the trace view is not audited"
    );
    // Sent: the review is closed.
    b.go(&overview);
    assert!(
        !b.body().contains("Fortryd seneste"),
        "decisions are still open after sending"
    );
    s.stop_leaving_nothing();
}

/// Who may reach what (issue 11): every route × anonymous, the citizen,
/// another citizen, a third party with the citizen's consent, and each
/// staff role, against the explicit table below. A cell is `A` (the page
/// answers, or the action reaches its own checks: 200, a redirect on, or a
/// refusal of the form's content) or `D` (not found, sent to a login, or
/// refused before anything is read). Forms are posted with the session's
/// CSRF token, so a `D` is the route's own check, not the token's. `R`:
/// sent on to a page of their own (a firm at the citizens' form goes to
/// its consents).
fn every_route_answers_only_those_it_is_for(backing: Backing) {
    let s = Served::start_with_config(backing, "control = \"review\"\n", &["--workers", "2"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let owner = world.demo_citizen().clone();
    let other = s
        .identities_persons()
        .into_iter()
        .find(|p| *p != owner.name)
        .unwrap();
    let firm = s.identities_orgs()[0].clone();
    for (who, role) in [
        ("kim", "caseworker"),
        ("mona", "manager"),
        ("ali", "admin"),
        ("ulla", "auditor"),
    ] {
        let out = s.staff_add(who, role, "en lang adgangskode 42");
        assert!(out.status.success(), "{}", stderr(&out));
    }

    // The citizen's request and consent to the firm.
    let b = s.browser();
    b.go(&s.url("/login"));
    b.login_as(&owner.name);
    b.go(&s.url("/samtykker"));
    b.grant(&firm.cvr, &firm.name, &[], "", "");
    b.go(&s.url("/ny"));
    b.submit("form[action='/ny']");
    let id = b.text("dl dd").trim().to_string();
    assert!(id.starts_with("AI-"), "{id}");
    let mut sessions: Vec<(&str, String, String)> =
        vec![("anonymous", String::new(), String::new())];
    let keep = |b: &Browser| -> (String, String) {
        b.go(&s.url("/"));
        let csrf = b
            .js("let t = document.querySelector('input[name=csrf]'); return t ? t.value : '';")
            .as_str()
            .unwrap()
            .to_string();
        assert!(!csrf.is_empty(), "not logged in: {}", b.body());
        let cookie = b.cookie_header();
        b.delete_cookies();
        (cookie, csrf)
    };
    let (c, t) = keep(&b);
    sessions.push(("citizen", c, t));
    for name in [other.as_str(), firm.name.as_str()] {
        b.go(&s.url("/login"));
        b.login_as(name);
        let (c, t) = keep(&b);
        sessions.push((
            if name == firm.name {
                "third party"
            } else {
                "other citizen"
            },
            c,
            t,
        ));
    }
    // The firm's consent id.
    let consent = {
        b.go(&s.url("/login"));
        b.login_as(&firm.name);
        b.go(&s.url("/samtykker"));
        let l = b.hrefs("a[href^='/paa-vegne/']");
        b.delete_cookies();
        l[0].rsplit('/').next().unwrap().to_string()
    };
    for user in ["kim", "mona", "ali", "ulla"] {
        s.staff_login(&b, user, "en lang adgangskode 42");
        let (c, t) = keep(&b);
        sessions.push((user, c, t));
    }
    // Columns: anonymous, citizen, other citizen, third party, caseworker
    // (kim), manager (mona), administrator (ali), auditor (ulla).
    /// Method, path, form fields, and the table's row.
    type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let routes: &[Row] = &[
        ("GET", "/", &[], "AAAAAAAA"),
        ("GET", "/healthz", &[], "AAAAAAAA"),
        ("GET", "/static/app.css", &[], "AAAAAAAA"),
        ("GET", "/static/review.js", &[], "AAAAAAAA"),
        ("GET", "/personale", &[], "AAAAAAAA"),
        ("GET", "/mine", &[], "DAAADDDD"),
        ("GET", "/ny", &[], "DAARDDDD"),
        ("GET", "/anmodning/{id}", &[], "DADDDDDD"),
        ("GET", "/anmodning/{id}/kvittering", &[], "DADDDDDD"),
        ("GET", "/samtykker", &[], "DAAADDDD"),
        ("GET", "/paa-vegne/{consent}", &[], "DDDADDDD"),
        ("GET", "/sager", &[], "DDDDADDA"),
        ("GET", "/sager?q=a&sort=name&desc=1", &[], "DDDDADDA"),
        ("GET", "/sager/{id}", &[], "DDDDADDA"),
        ("GET", "/sager/{id}/dokumenter", &[], "DDDDADDD"),
        ("GET", "/sager/{id}/dokument?d=x", &[], "DDDDDDDD"),
        ("GET", "/sager/{id}/robot/ingen/", &[], "DDDDDDDD"),
        ("GET", "/statistik", &[], "DDDDDAAD"),
        ("GET", "/statistik.csv", &[], "DDDDDAAD"),
        ("GET", "/revision", &[], "DDDDDAAA"),
        ("GET", "/admin", &[], "DDDDDDAD"),
        ("POST", "/ny", &[("from", "i går")], "DAADDDDD"),
        ("POST", "/samtykker", &[("grantee", "x")], "DAADDDDD"),
        (
            "POST",
            "/paa-vegne/{consent}",
            &[("from", "i går")],
            "DDDADDDD",
        ),
        ("POST", "/sager/flere", &[("op", "ingen")], "DDDDADDD"),
        ("POST", "/sager/{id}/cpr", &[], "DDDDADDA"),
        ("POST", "/sager/{id}/tildel", &[], "DDDDADDD"),
        ("POST", "/sager/{id}/frigiv", &[], "DDDDADDD"),
        (
            "POST",
            "/sager/{id}/godkend",
            &[("revision", "999")],
            "DDDDADDD",
        ),
        ("POST", "/sager/{id}/afslag", &[("reason", "")], "DDDDADDD"),
        (
            "POST",
            "/sager/{id}/frist",
            &[("deadline", "snart")],
            "DDDDADDD",
        ),
        ("POST", "/sager/{id}/notat", &[("note", "")], "DDDDADDD"),
        (
            "POST",
            "/sager/{id}/videresend",
            &[("cvr", "1"), ("name", "X")],
            "DDDDADDD",
        ),
        ("POST", "/sager/{id}/beslut", &[("op", "ingen")], "DDDDADDD"),
        ("POST", "/sager/{id}/tilfoej", &[], "DDDDADDD"),
        (
            "POST",
            "/admin/undtagelse",
            &[("cpr", "x"), ("reason", "y")],
            "DDDDDDAD",
        ),
        (
            "POST",
            "/admin/undtagelse/fjern",
            &[("cpr", "x")],
            "DDDDDDAD",
        ),
        (
            "POST",
            "/admin/liste",
            &[("list", "ingen"), ("item", "x")],
            "DDDDDDAD",
        ),
        ("POST", "/admin/frist", &[("days", "0")], "DDDDDDAD"),
        ("POST", "/admin/testkoersel", &[("cpr", "x")], "DDDDDDAD"),
        ("POST", "/admin/medarbejder", &[("user", "x")], "DDDDDDAD"),
        (
            "POST",
            "/admin/medarbejder/fjern",
            &[("user", "ingen")],
            "DDDDDDAD",
        ),
        // Last: these change what the rows above look at.
        ("POST", "/anmodning/{id}/annuller", &[], "DADDDDDD"),
        ("POST", "/samtykker/{consent}/tilbagekald", &[], "DADDDDDD"),
    ];
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = s.url("");
    let origin = origin.trim_end_matches('/');
    let mut wrong = Vec::new();
    for (method, path, fields, expect) in routes {
        let path = path.replace("{id}", &id).replace("{consent}", &consent);
        for ((who, cookie, csrf), want) in sessions.iter().zip(expect.chars()) {
            let mut req = if *method == "GET" {
                http.get(s.url(&path))
            } else {
                let mut body = url::form_urlencoded::Serializer::new(String::new());
                body.extend_pairs(fields.iter().copied());
                body.append_pair("csrf", csrf);
                http.post(s.url(&path))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Origin", origin)
                    .body(body.finish())
            };
            if !cookie.is_empty() {
                req = req.header("Cookie", cookie.as_str());
            }
            let res = req.send().unwrap();
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let to_login = (300..400).contains(&status)
                && (location.starts_with("/login") || location.starts_with("/personale"));
            let got = if matches!(status, 401 | 403 | 404) || to_login {
                'D'
            } else if *method == "GET" && (300..400).contains(&status) {
                'R'
            } else {
                'A'
            };
            if got != want {
                wrong.push(format!(
                    "{method} {path} as {who}: want {want}, got {status} {location}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    s.stop_leaving_nothing();
}

/// The administrator's lists (issue 11): a word added on the page, after a
/// preview of the forms it marks, is removed from the next request's
/// answer; the one before it still shows it. The change is audited.
fn an_administrator_adds_a_word_and_the_next_request_marks_it(backing: Backing) {
    let s = Served::start(backing, &["--workers", "2"]);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen().clone();
    // The citizen's documents' most frequent long word.
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for d in world.documents.iter().filter(|d| d.cpr == citizen.cpr) {
        for w in d.text.split(|c: char| !c.is_alphabetic()) {
            if w.chars().count() >= 9 && w.chars().all(|c| c.is_lowercase()) {
                *counts.entry(w.to_string()).or_default() += 1;
            }
        }
    }
    let word = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(w, _)| w.clone())
        .expect("no long word in the citizen's documents");
    let count = |pdf: &[u8]| pdf_text(pdf).to_lowercase().matches(&word).count();

    let c = s.browser();
    c.go(&s.url("/login"));
    c.login_as(&citizen.name);
    let answer = || {
        c.go(&s.url("/ny"));
        c.submit("form[action='/ny']");
        let id = c.text("dl dd").trim().to_string();
        c.go(&s.url(&format!("/anmodning/{id}")));
        let mut seen = Default::default();
        let st = c.wait_for_state(
            &mut seen,
            &["Sendt", "Under behandling hos en sagsbehandler"],
            400,
        );
        assert_eq!(st, "Sendt", "{id}");
        c.download_bytes(&s.url(&format!("/anmodning/{id}/svar.pdf")))
    };
    let before = count(&answer());
    assert!(before > 0, "{word:?} is not in the first answer");

    let out = s.staff_add("ali", "admin", "en lang adgangskode 42");
    assert!(out.status.success(), "{}", stderr(&out));
    let a = s.browser();
    s.staff_login(&a, "ali", "en lang adgangskode 42");
    a.go(&s.url("/admin"));
    a.axe_clean("the administration page");
    a.fill("#preview-word", &word);
    a.submit("form[action='/admin#words']");
    let preview = a.text("#preview");
    assert!(
        preview.contains(&format!("{word}erne"))
            || preview.contains(&format!("{word}en"))
            || preview.contains(&word),
        "{preview}"
    );
    a.axe_clean("the word preview");
    a.click_button_containing(&format!("Tilføj »{word}« til listen"));
    assert!(
        a.body().contains(&format!("Fjern »{word}«")),
        "{}",
        a.body()
    );

    let after = count(&answer());
    assert!(
        after < before,
        "{word:?} stands {after} times in the answer after it was listed ({before} before)"
    );
    assert!(
        s.audit_log().contains("admin.list_added"),
        "the change is not audited"
    );

    // The systems: each robot's record, and one switched off is not searched.
    a.go(&s.url("/admin"));
    let row = a.text("#disabled_systems + p + table tbody tr");
    assert!(row.contains("esdh") && row.contains("100 %"), "{row}");
    a.click_button_containing("Slå legacy fra");
    assert!(a.body().contains("Slå legacy til"), "{}", a.body());
    // The deadline of new requests: not 0 days, then 12.
    a.fill("#days", "0");
    a.js("document.getElementById('days').removeAttribute('min');");
    a.submit("form[action='/admin/frist']");
    assert!(a.body().contains("mellem 1 og 60"), "{}", a.body());
    a.go(&s.url("/admin"));
    a.fill("#days", "12");
    a.submit("form[action='/admin/frist']");
    assert!(a.body().contains("12 arbejdsdage"), "{}", a.body());
    c.go(&s.url("/ny"));
    c.submit("form[action='/ny']");
    let id = c.text("dl dd").trim().to_string();
    c.go(&s.url(&format!("/anmodning/{id}")));
    let systems: Vec<String> = serde_json::from_value(c.js(
        "return Array.from(document.querySelectorAll('.system-name')).map(e => e.textContent);",
    ))
    .unwrap();
    assert!(
        !systems.is_empty() && !systems.iter().any(|n| n.contains("1998")),
        "a switched-off system was searched: {systems:?}"
    );
    let due = marc_web::pages::dato(marc_request::deadline(
        chrono::Local::now().date_naive(),
        12,
    ));
    assert!(
        c.body().contains(&due),
        "the deadline is not 12 working days ({due}): {}",
        c.body()
    );
    a.go(&s.url("/admin"));
    a.click_button_containing("Slå legacy til");
    assert!(a.body().contains("Slå legacy fra"), "{}", a.body());

    // Staff accounts from the page: made, used, removed, and the removed
    // member's open session ends on its next page.
    a.fill("#st-user", "bo");
    a.js("document.getElementById('st-role').value = 'caseworker';");
    a.fill("#st-password", "kort");
    a.js("document.getElementById('st-password').removeAttribute('minlength');");
    a.submit("form[action='/admin/medarbejder']");
    assert!(a.body().contains("too short"), "{}", a.body());
    a.go(&s.url("/admin"));
    a.fill("#st-user", "bo");
    a.js("document.getElementById('st-role').value = 'caseworker';");
    a.fill("#st-password", "bos lange adgangskode");
    a.submit("form[action='/admin/medarbejder']");
    assert!(a.body().contains("Fjern bo"), "{}", a.body());
    assert!(
        !a.body().contains("Fjern ali"),
        "an administrator can remove themselves"
    );
    let bo = s.browser();
    s.staff_login(&bo, "bo", "bos lange adgangskode");
    assert!(bo.current_url().ends_with("/sager"), "{}", bo.current_url());
    a.click_button_containing("Fjern bo");
    bo.go(&s.url("/sager"));
    assert!(
        bo.current_url().contains("/personale"),
        "a removed account still works: {}",
        bo.current_url()
    );

    // A test run of one robot for one CPR number: not with a bad number;
    // then it runs, finds the documents, and sends nothing.
    a.go(&s.url("/admin"));
    a.fill("#tr-cpr", "123");
    a.submit("form[action='/admin/testkoersel']");
    assert!(
        a.body().contains("CPR-nummeret er ikke gyldigt"),
        "{}",
        a.body()
    );
    a.go(&s.url("/admin"));
    a.js("document.getElementById('tr-system').value = 'esdh';");
    a.fill("#tr-cpr", &citizen.cpr);
    a.submit("form[action='/admin/testkoersel']");
    let t0 = std::time::Instant::now();
    let row = loop {
        a.go(&s.url("/admin"));
        let row = a.text("table.testruns tbody tr");
        if row.contains("Under behandling hos en sagsbehandler") || t0.elapsed().as_secs() > 300 {
            break row;
        }
        std::thread::sleep(std::time::Duration::from_millis(700));
    };
    assert!(
        row.contains("Under behandling hos en sagsbehandler"),
        "{row}"
    );
    let run = a.text("table.testruns tbody tr .run-id").trim().to_string();
    let found: usize = row
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .find(|n: &usize| *n > 0)
        .unwrap_or(0);
    assert!(found > 0, "the test run found nothing: {row}");
    assert!(
        s.outbox_messages(&run).is_empty(),
        "a test run sent a letter"
    );
    s.stop_leaving_nothing();
}
