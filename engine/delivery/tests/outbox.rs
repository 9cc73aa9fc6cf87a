//! The outbox against a real Digital Post receiver on 127.0.0.1: HTTPS with a
//! test CA made here (rcgen), client certificates required and verified, and
//! receiving idempotent on the message UUID (409 for one it already has).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use marc_delivery::*;
use marc_store::Store;
use marc_testbed::digital_post::{Behaviour, DigitalPostReceiver, Issued, TestPki};

/// A receiver, the PKI behind it, and marc's client certificate in files.
struct Rig {
    rx: DigitalPostReceiver,
    pki: TestPki,
    dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Server and client certificates from one test CA.
fn rig() -> Rig {
    let pki = TestPki::new("marc test CA").unwrap();
    let rx = DigitalPostReceiver::start(&pki, &pki.ca_pem()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = pki.issue("Testkommune OCES", &[]).unwrap();
    Rig {
        ca: write(dir.path(), "ca.pem", &pki.ca_pem()),
        cert: write(dir.path(), "client.pem", &client.cert_pem),
        key: write(dir.path(), "client.key", &client.key_pem),
        rx,
        pki,
        dir,
    }
}

impl Rig {
    fn endpoint(&self) -> EndpointConfig {
        EndpointConfig {
            url: self.rx.url.clone(),
            ca: Some(self.ca.clone()),
            identity: Some(ClientIdentity::Pem {
                cert: self.cert.clone(),
                key: self.key.clone(),
            }),
        }
    }
    fn outbox(&self, out: &Path, store: Store) -> Outbox {
        Outbox::new(out.to_path_buf(), Some(self.endpoint()), store)
            .unwrap()
            .with_retry(fast())
    }
}

fn sender() -> Sender {
    Sender {
        cvr: "29189919".into(),
        label: "Silkeborg Kommune".into(),
    }
}

fn pdf_bytes() -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.extend((0..=255u8).cycle().take(5000));
    v
}

fn when() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

fn response(id: &str) -> MemoMessage {
    response_message(
        id,
        RecipientId::Cpr("0101901234".into()),
        &sender(),
        pdf_bytes(),
        when(),
    )
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn xml_round_trip_decodes_to_the_same_pdf() {
    let mut msg = response("AI-1");
    msg.label = "Svar <&> \"æøå\" 'x'\u{1}]]>".into();
    let xml = memo_xml(&msg).unwrap();
    assert!(xml.contains("xmlns:memo=\"https://DigitalPost.dk/MeMo-1\""));
    let p = parse_memo(&xml).unwrap();
    assert_eq!(p.memo_version, "1.1");
    assert_eq!(p.message_type, "DIGITALPOST");
    assert_eq!(p.message_uuid, msg.message_uuid);
    assert_eq!(p.label, "Svar <&> \"æøå\" 'x']]>");
    assert_eq!(
        (
            p.sender_id.as_str(),
            p.sender_id_type.as_str(),
            p.sender_label.as_str()
        ),
        ("29189919", "CVR", "Silkeborg Kommune")
    );
    assert_eq!(
        (p.recipient_id.as_str(), p.recipient_id_type.as_str()),
        ("0101901234", "CPR")
    );
    assert_eq!(p.created, when());
    assert_eq!(
        (p.encoding_format.as_str(), p.language.as_str()),
        ("application/pdf", "da")
    );
    assert_eq!(p.filename, "aktindsigt-AI-1.pdf");
    assert_eq!(p.content, pdf_bytes());
    assert!(parse_memo("<Message/>").is_err());
    assert!(parse_memo("not xml").is_err());
}

#[test]
fn bad_messages_and_endpoints_are_refused_before_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("data")).unwrap();
    let ob = Outbox::new(dir.path().join("out"), None, store).unwrap();
    let mut msg = response_message(
        "AI-2",
        RecipientId::Cpr("12345".into()),
        &sender(),
        pdf_bytes(),
        when(),
    );
    assert!(matches!(
        ob.deliver("k", &msg),
        Err(DeliveryError::Invalid(_))
    ));
    msg.recipient = RecipientId::Cpr("0101901234".into());
    msg.pdf.clear();
    assert!(matches!(
        ob.deliver("k", &msg),
        Err(DeliveryError::Invalid(_))
    ));
    assert_eq!(ob.status("k").unwrap(), None);
    // plain http only to this machine; no credentials in URLs
    for bad in [
        "http://sf1601.example/memo",
        "https://user:pw@sf1601.example/memo",
        "ftp://x",
    ] {
        let e = Outbox::new(
            dir.path().join("o2"),
            Some(EndpointConfig::url(bad)),
            Store::temporary().unwrap(),
        )
        .err()
        .unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(matches!(e, DeliveryError::Endpoint(_)), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}

#[test]
fn posts_over_https_with_a_client_certificate_exactly_once_across_restarts() {
    let rig = rig();
    let data = rig.dir.path().join("data");
    let out = rig.dir.path().join("out");
    let msg = response("AI-3");
    let key = delivery_key("response", "AI-3");
    {
        let ob = rig.outbox(&out, Store::open(&data).unwrap());
        let r = ob.deliver(&key, &msg).unwrap();
        assert!(r.posted && !r.repeated);
        assert_eq!(r.http_status, Some(200));
        assert_eq!(rig.rx.posts(), 1);
        let again = ob.deliver(&key, &msg).unwrap();
        assert!(again.repeated);
        assert_eq!(rig.rx.posts(), 1);
        let file = std::fs::read(&r.file).unwrap();
        assert_eq!(
            parse_memo(std::str::from_utf8(&file).unwrap())
                .unwrap()
                .content,
            pdf_bytes()
        );
        let got = rig.rx.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, file, "the POSTed XML is the outbox file");
        assert_eq!(got[0].uuid, msg.message_uuid.to_string());
        // absolute paths, closed to other users, hashes on record
        assert!(r.file.is_absolute());
        assert_eq!(
            r.file,
            out.canonicalize()
                .unwrap()
                .join(format!("{}.xml", msg.message_uuid))
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&r.file), 0o600);
            assert_eq!(mode(&out), 0o700);
        }
        let rec = ob.record(&key).unwrap().unwrap();
        assert_eq!(
            rec.document_sha256.as_deref(),
            Some(sha256_hex(&pdf_bytes()).as_str())
        );
        assert_eq!(rec.file_sha256.as_deref(), Some(sha256_hex(&file).as_str()));
    }
    // restart, from another working directory, with the outbox given relatively
    let ob = Outbox::new(
        out.clone(),
        Some(rig.endpoint()),
        Store::open(&data).unwrap(),
    )
    .unwrap();
    let mut rebuilt = msg.clone();
    rebuilt.message_uuid = uuid::Uuid::new_v4();
    let r = ob.deliver(&key, &rebuilt).unwrap();
    assert!(r.repeated);
    assert_eq!(r.message_uuid, msg.message_uuid);
    assert_eq!(rig.rx.posts(), 1, "a restart must not send twice");
    // one delivery key, one document
    let mut other = msg.clone();
    other.pdf.push(b'x');
    let e = ob.deliver(&key, &other).unwrap_err().to_string();
    assert!(e.contains("another document"), "{e}");
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
}

#[test]
fn a_pkcs12_client_identity_works_and_the_wrong_password_is_named_without_it() {
    let rig = rig();
    let client = rig.pki.issue("Testkommune OCES p12", &[]).unwrap();
    let p12 = rig.dir.path().join("oces.p12");
    std::fs::write(&p12, pkcs12(&client, "hemmeligt-p12")).unwrap();
    let endpoint = |password: &str| EndpointConfig {
        url: rig.rx.url.clone(),
        ca: Some(rig.ca.clone()),
        identity: Some(ClientIdentity::Pkcs12 {
            file: p12.clone(),
            password: password.to_string().into(),
        }),
    };
    let ob = Outbox::new(
        rig.dir.path().join("out"),
        Some(endpoint("hemmeligt-p12")),
        Store::temporary().unwrap(),
    )
    .unwrap()
    .with_retry(fast());
    assert!(
        ob.deliver("response/AI-P12", &response("AI-P12"))
            .unwrap()
            .posted
    );
    assert_eq!(rig.rx.messages().len(), 1);

    let e = Outbox::new(
        rig.dir.path().join("out2"),
        Some(endpoint("wrong-password-xyz")),
        Store::temporary().unwrap(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("oces.p12") && e.contains("password"), "{e}");
    assert!(!e.contains("wrong-password-xyz"), "{e}");
}

fn pkcs12(id: &Issued, password: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    let cert = rustls::pki_types::CertificateDer::from_pem_slice(id.cert_pem.as_bytes()).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(
        key.secret_pkcs8_der(),
        [1u8; 20],
        vec![p12_keystore::Certificate::from_der(cert.as_ref()).unwrap()],
    );
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry("oces", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    ks.writer(password).write().unwrap()
}

#[test]
fn without_an_accepted_client_certificate_or_a_trusted_server_nothing_arrives() {
    let rig = rig();
    let msg = response("AI-TLS");
    let n = std::cell::Cell::new(0);
    let try_with = |cfg: EndpointConfig| {
        n.set(n.get() + 1);
        let out = rig.dir.path().join(format!("out{}", n.get()));
        let ob = Outbox::new(out, Some(cfg), Store::temporary().unwrap())
            .unwrap()
            .with_retry(fast());
        ob.deliver("response/AI-TLS", &msg).unwrap_err().to_string()
    };
    // no client certificate
    let mut cfg = rig.endpoint();
    cfg.identity = None;
    let e = try_with(cfg);
    assert!(
        e.contains("failed after") && e.contains("CertificateRequired"),
        "{e}"
    );
    // a client certificate from another CA
    let stranger = TestPki::new("someone else's CA").unwrap();
    let id = stranger.issue("not OCES", &[]).unwrap();
    let mut cfg = rig.endpoint();
    cfg.identity = Some(ClientIdentity::Pem {
        cert: write(rig.dir.path(), "s.pem", &id.cert_pem),
        key: write(rig.dir.path(), "s.key", &id.key_pem),
    });
    try_with(cfg);
    // the server's certificate is not trusted: the system's roots do not know the test CA
    let mut cfg = rig.endpoint();
    cfg.ca = None;
    let e = try_with(cfg);
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert_eq!(rig.rx.posts(), 0, "nothing may reach the receiver");
}

#[test]
fn an_in_doubt_delivery_is_never_resent_by_itself_and_a_retry_is_idempotent() {
    let rig = rig();
    let dir = rig.dir.path();
    let store = Store::open(dir.join("data")).unwrap();
    let ob = rig.outbox(&dir.join("out"), store.clone());
    let msg = response("AI-4");
    // the first POST arrived, but marc stopped before it heard the answer:
    // the ledger says `posting`
    let key = "response/AI-4";
    ob.deliver(key, &msg).unwrap();
    let table = store.table(LEDGER_TABLE).unwrap();
    let mut rec = ob.record(key).unwrap().unwrap();
    rec.state = DeliveryState::Posting { attempt: 1 };
    table.put_json(key, &rec).unwrap();
    assert_eq!(rig.rx.posts(), 1);

    let e = ob.deliver(key, &msg).unwrap_err();
    assert!(matches!(e, DeliveryError::InDoubt { .. }), "{e}");
    let said = e.to_string();
    assert!(
        said.contains(&format!("marc delivery confirm {key}"))
            && said.contains(&format!("marc delivery retry {key}")),
        "{said}"
    );
    assert_eq!(rig.rx.posts(), 1, "in doubt: not sent again by itself");
    // the operator retries: same bytes, same UUID; the receiver has it (409)
    let r = ob.retry(key).unwrap();
    assert_eq!(r.http_status, Some(409));
    assert_eq!(rig.rx.posts(), 2);
    assert_eq!(rig.rx.messages().len(), 1, "the receiver kept one message");
    let rec = ob.record(key).unwrap().unwrap();
    assert_eq!(rec.state, DeliveryState::Delivered);
    assert!(rec.note.unwrap().contains("already had"));

    // a changed outbox file is not sent
    let key5 = "response/AI-5";
    rig.rx.set_behaviour(Behaviour::Fail(503));
    assert!(ob.deliver(key5, &response("AI-5")).is_err());
    rig.rx.set_behaviour(Behaviour::Accept);
    let file = ob.record(key5).unwrap().unwrap().file;
    std::fs::write(&file, b"<changed/>").unwrap();
    let e = ob.retry(key5).unwrap_err().to_string();
    assert!(e.contains("was changed"), "{e}");

    // confirming by hand
    let mut rec = ob.record(key5).unwrap().unwrap();
    rec.state = DeliveryState::Posting { attempt: 3 };
    table.put_json(key5, &rec).unwrap();
    let c = ob
        .confirm_delivered(key5, "cli:anna (uid 1000)", "seen in the SF1601 portal")
        .unwrap();
    assert_eq!(c.state, DeliveryState::Delivered);
    assert!(c.note.unwrap().contains("anna"));
    // a delivery that never left cannot be confirmed
    let mut never = ob.record(key5).unwrap().unwrap();
    never.delivery_key = "response/AI-6".into();
    never.state = DeliveryState::Sending;
    table.put_json("response/AI-6", &never).unwrap();
    assert!(ob.confirm_delivered("response/AI-6", "x", "y").is_err());
    assert!(matches!(ob.retry("nope"), Err(DeliveryError::Unknown(_))));
}

/// The child half of the kill test: delivers, and is killed while the
/// receiver holds the POST.
#[test]
fn killed_during_the_post_the_delivery_is_in_doubt_and_a_retry_delivers_once() {
    if let Ok(cfg) = std::env::var("MARC_DELIVERY_KILL_CHILD") {
        let v: Vec<&str> = cfg.split('\n').collect();
        let endpoint = EndpointConfig {
            url: v[0].into(),
            ca: Some(v[1].into()),
            identity: Some(ClientIdentity::Pem {
                cert: v[2].into(),
                key: v[3].into(),
            }),
        };
        let ob = Outbox::new(v[5].into(), Some(endpoint), Store::open(v[4]).unwrap()).unwrap();
        let _ = ob.deliver("response/AI-K", &response("AI-K"));
        return;
    }
    let rig = rig();
    let dir = rig.dir.path();
    let (data, out) = (dir.join("data"), dir.join("out"));
    rig.rx.set_behaviour(Behaviour::Hang);
    let cfg = [
        rig.rx.url.clone(),
        rig.ca.display().to_string(),
        rig.cert.display().to_string(),
        rig.key.display().to_string(),
        data.display().to_string(),
        out.display().to_string(),
    ]
    .join("\n");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_during_the_post_the_delivery_is_in_doubt_and_a_retry_delivers_once",
            "--exact",
            "--test-threads=1",
        ])
        .env("MARC_DELIVERY_KILL_CHILD", cfg)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let arrived = rig.rx.wait_for_posts(1, Duration::from_secs(60));
    child.kill().unwrap(); // SIGKILL, mid-POST
    let _ = child.wait();
    assert!(arrived, "the child's POST never reached the receiver");

    rig.rx.set_behaviour(Behaviour::Accept);
    let ob = rig.outbox(&out, Store::open(&data).unwrap());
    assert_eq!(
        ob.status("response/AI-K").unwrap(),
        Some(DeliveryState::Posting { attempt: 1 })
    );
    assert!(matches!(
        ob.deliver("response/AI-K", &response("AI-K")),
        Err(DeliveryError::InDoubt { .. })
    ));
    assert_eq!(rig.rx.posts(), 1);
    let r = ob.retry("response/AI-K").unwrap();
    assert_eq!(r.http_status, Some(409), "the receiver had it already");
    assert_eq!(rig.rx.messages().len(), 1);
    assert_eq!(
        ob.status("response/AI-K").unwrap(),
        Some(DeliveryState::Delivered)
    );
}

#[test]
fn endpoint_down_leaves_failed_with_reason_until_an_explicit_retry() {
    let rig = rig();
    // a port nobody listens on
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data = rig.dir.path().join("data");
    let msg = receipt_message(
        "AI-5",
        RecipientId::Cpr("0101901234".into()),
        &sender(),
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        when(),
    );
    let key = delivery_key("receipt", "AI-5");
    {
        let mut cfg = rig.endpoint();
        cfg.url = format!("https://127.0.0.1:{port}/memo");
        let ob = Outbox::new(
            rig.dir.path().join("out"),
            Some(cfg),
            Store::open(&data).unwrap(),
        )
        .unwrap()
        .with_retry(fast());
        let e = ob.deliver(&key, &msg).unwrap_err();
        assert!(matches!(e, DeliveryError::Failed { .. }), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("marc delivery retry {key}")),
            "{e}"
        );
        match ob.status(&key).unwrap() {
            Some(DeliveryState::Failed { reason }) => {
                assert!(reason.contains("3 attempt"), "{reason}")
            }
            other => panic!("expected failed, got {other:?}"),
        }
        assert_eq!(ob.record(&key).unwrap().unwrap().attempts, 3);
    }
    // after a restart it is still failed and a plain deliver does not resend;
    // a retry sends the outbox file, to wherever the endpoint is now
    let ob = rig.outbox(&rig.dir.path().join("out"), Store::open(&data).unwrap());
    assert!(matches!(
        ob.deliver(&key, &msg),
        Err(DeliveryError::Failed { .. })
    ));
    assert_eq!(rig.rx.posts(), 0);
    assert!(ob.retry(&key).unwrap().posted);
    assert_eq!(rig.rx.posts(), 1);
    let p = parse_memo(std::str::from_utf8(&rig.rx.messages()[0].body).unwrap()).unwrap();
    let text = String::from_utf8(p.content).unwrap();
    assert!(
        text.contains("AI-5") && text.contains("02.12.2026"),
        "{text}"
    );
    assert_eq!(p.encoding_format, "text/plain");
}

#[test]
fn server_errors_are_retried_client_errors_are_not() {
    let rig = rig();
    let msg = forward_message(
        "AI-6",
        "29189900",
        "Aarhus Kommune",
        &sender(),
        pdf_bytes(),
        when(),
    );
    rig.rx.set_behaviour(Behaviour::Fail(503));
    let ob = rig.outbox(&rig.dir.path().join("out"), Store::temporary().unwrap());
    assert!(ob.deliver(&forward_key("AI-6", "29189900"), &msg).is_err());
    assert_eq!(rig.rx.posts(), 3);

    rig.rx.set_behaviour(Behaviour::Fail(400));
    let ob = rig.outbox(&rig.dir.path().join("out2"), Store::temporary().unwrap());
    let e = ob.deliver("x", &msg).unwrap_err().to_string();
    assert!(e.contains("400"), "{e}");
    assert_eq!(rig.rx.posts(), 4);
}

#[test]
fn without_endpoint_the_file_is_the_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::new(dir.path().join("out"), None, Store::temporary().unwrap()).unwrap();
    let msg = response_message(
        "AI-7",
        RecipientId::Cvr("12345678".into()),
        &sender(),
        pdf_bytes(),
        when(),
    );
    let r = ob.deliver("response/AI-7", &msg).unwrap();
    assert!(!r.posted);
    assert_eq!(
        parse_memo(&std::fs::read_to_string(&r.file).unwrap())
            .unwrap()
            .recipient_id_type,
        "CVR"
    );
    assert_eq!(ob.records().unwrap().len(), 1);
    assert_eq!(message_uuid_for("response/AI-7"), msg.message_uuid);
}

#[test]
fn a_ledger_that_lost_its_record_does_not_send_again() {
    // The store was rolled back (a damaged tail dropped): the outbox file of
    // a delivery is there, its ledger record is not.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let msg = response("AI-8");
    {
        let ob = Outbox::new(out.clone(), None, Store::temporary().unwrap()).unwrap();
        ob.deliver("response/AI-8", &msg).unwrap();
    }
    let ob = Outbox::new(out.clone(), None, Store::temporary().unwrap()).unwrap();
    let e = ob.deliver("response/AI-8", &msg).unwrap_err();
    assert!(matches!(e, DeliveryError::LedgerBehind { .. }), "{e}");
    assert!(e.to_string().contains("marc audit verify"), "{e}");
}
