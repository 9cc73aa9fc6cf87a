//! Outbox behaviour against a tiny local HTTP server that counts POSTs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use marc_delivery::*;
use marc_store::Store;

struct TestServer {
    url: String,
    posts: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

/// Answers every request with `status`; counts POSTs and keeps bodies.
fn server(status: u16) -> TestServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/memo", l.local_addr().unwrap());
    let posts = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (p, b) = (posts.clone(), bodies.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            if first.starts_with("POST ") {
                p.fetch_add(1, Ordering::SeqCst);
                b.lock().unwrap().push(String::from_utf8(body).unwrap());
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    TestServer { url, posts, bodies }
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

/// An outbox that POSTs to `url`, retrying fast.
fn posting_outbox(out: std::path::PathBuf, url: &str, store: Store) -> Outbox {
    Outbox::new(out, Some(url.to_string()), store)
        .unwrap()
        .with_retry(fast())
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
    }
}

#[test]
fn xml_round_trip_decodes_to_the_same_pdf() {
    let mut msg = response_message(
        "AI-1",
        RecipientId::Cpr("010190-1234".into()),
        &sender(),
        pdf_bytes(),
        when(),
    );
    msg.label = "Svar <&> \"æøå\" 'x'\u{1}".into();
    let xml = memo_xml(&msg);
    assert!(xml.contains("xmlns:memo=\"https://DigitalPost.dk/MeMo-1\""));
    let p = parse_memo(&xml).unwrap();
    assert_eq!(p.memo_version, "1.1");
    assert_eq!(p.message_type, "DIGITALPOST");
    assert_eq!(p.message_uuid, msg.message_uuid);
    assert_eq!(p.label, "Svar <&> \"æøå\" 'x'");
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
fn invalid_messages_are_refused_before_the_ledger() {
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
    assert!(matches!(
        Outbox::new(
            dir.path().join("o2"),
            Some("https://sf1601.example".into()),
            Store::temporary().unwrap()
        ),
        Err(DeliveryError::Endpoint(_))
    ));
}

#[test]
fn writes_outbox_file_and_posts_exactly_once_across_restarts() {
    let srv = server(200);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("out");
    let msg = response_message(
        "AI-3",
        RecipientId::Cpr("0101901234".into()),
        &sender(),
        pdf_bytes(),
        when(),
    );
    let key = delivery_key("response", "AI-3");
    {
        let ob = posting_outbox(out.clone(), &srv.url, Store::open(&data).unwrap());
        let r = ob.deliver(&key, &msg).unwrap();
        assert!(r.posted && !r.repeated);
        assert_eq!(r.http_status, Some(200));
        assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
        let again = ob.deliver(&key, &msg).unwrap();
        assert!(again.repeated);
        assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
        let file = std::fs::read_to_string(&r.file).unwrap();
        assert_eq!(parse_memo(&file).unwrap().content, pdf_bytes());
        assert_eq!(
            file,
            srv.bodies.lock().unwrap()[0],
            "the POSTed XML is the outbox file"
        );
        assert_eq!(r.file, out.join(format!("{}.xml", msg.message_uuid)));
    }
    // restart: new store handle and outbox on the same directories
    let ob = Outbox::new(
        out.clone(),
        Some(srv.url.clone()),
        Store::open(&data).unwrap(),
    )
    .unwrap();
    let mut rebuilt = msg.clone();
    rebuilt.message_uuid = uuid::Uuid::new_v4();
    let r = ob.deliver(&key, &rebuilt).unwrap();
    assert!(r.repeated);
    assert_eq!(r.message_uuid, msg.message_uuid);
    assert_eq!(
        srv.posts.load(Ordering::SeqCst),
        1,
        "a restart must not send twice"
    );
    assert_eq!(ob.status(&key).unwrap(), Some(DeliveryState::Delivered));
    // no temp files left behind
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn crash_states_resume_or_refuse_to_guess() {
    let srv = server(200);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data).unwrap();
    let msg = response_message(
        "AI-4",
        RecipientId::Cpr("0101901234".into()),
        &sender(),
        pdf_bytes(),
        when(),
    );
    let table = store.table(LEDGER_TABLE).unwrap();
    let mut rec = DeliveryRecord {
        delivery_key: "a".into(),
        message_uuid: msg.message_uuid,
        state: DeliveryState::Sending,
        file: dir
            .path()
            .join("out")
            .join(format!("{}.xml", msg.message_uuid)),
        endpoint: Some(srv.url.clone()),
        http_status: None,
        attempts: 0,
        label: String::new(),
        recipient: String::new(),
        updated: when(),
    };
    // crashed after claiming, before anything was sent: resumes, sends once
    table.put_json("a", &rec).unwrap();
    // crashed while posting: in doubt, must not send
    rec.delivery_key = "b".into();
    rec.state = DeliveryState::Posting { attempt: 1 };
    table.put_json("b", &rec).unwrap();
    store.flush().unwrap();
    let ob = posting_outbox(dir.path().join("out"), &srv.url, store);
    assert!(!ob.deliver("a", &msg).unwrap().repeated);
    assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
    let e = ob.deliver("b", &msg).unwrap_err();
    assert!(matches!(e, DeliveryError::InDoubt { .. }), "{e}");
    assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
    // the operator checked and decides to send again
    ob.retry("b", &msg).unwrap();
    assert_eq!(srv.posts.load(Ordering::SeqCst), 2);
}

#[test]
fn endpoint_down_leaves_failed_with_reason() {
    // a port nobody listens on
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = format!("http://127.0.0.1:{port}/memo");
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
        let ob = posting_outbox(dir.path().join("out"), &url, Store::open(&data).unwrap());
        let e = ob.deliver(&key, &msg).unwrap_err();
        assert!(matches!(e, DeliveryError::Failed { .. }), "{e}");
        match ob.status(&key).unwrap() {
            Some(DeliveryState::Failed { reason }) => {
                assert!(
                    reason.contains("cannot connect") && reason.contains("3 attempt"),
                    "{reason}"
                )
            }
            other => panic!("expected failed, got {other:?}"),
        }
        assert_eq!(ob.record(&key).unwrap().unwrap().attempts, 3);
    }
    // after a restart it is still failed and a plain deliver does not resend
    let srv = server(200);
    let ob = posting_outbox(
        dir.path().join("out"),
        &srv.url,
        Store::open(&data).unwrap(),
    );
    assert!(matches!(
        ob.deliver(&key, &msg),
        Err(DeliveryError::Failed { .. })
    ));
    assert_eq!(srv.posts.load(Ordering::SeqCst), 0);
    // an explicit retry sends it
    assert!(ob.retry(&key, &msg).unwrap().posted);
    assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
    let p = parse_memo(&srv.bodies.lock().unwrap()[0]).unwrap();
    let text = String::from_utf8(p.content).unwrap();
    assert!(
        text.contains("AI-5") && text.contains("02.12.2026"),
        "{text}"
    );
    assert_eq!(p.encoding_format, "text/plain");
}

#[test]
fn server_errors_are_retried_client_errors_are_not() {
    let srv = server(503);
    let ob = posting_outbox(
        tempfile::tempdir().unwrap().keep(),
        &srv.url,
        Store::temporary().unwrap(),
    );
    let msg = forward_message(
        "AI-6",
        "29189900",
        "Aarhus Kommune",
        &sender(),
        pdf_bytes(),
        when(),
    );
    assert!(ob.deliver(&forward_key("AI-6", "29189900"), &msg).is_err());
    assert_eq!(srv.posts.load(Ordering::SeqCst), 3);
    let p = parse_memo(&srv.bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(
        (p.recipient_id.as_str(), p.recipient_id_type.as_str()),
        ("29189900", "CVR")
    );

    let srv = server(400);
    let ob = posting_outbox(
        tempfile::tempdir().unwrap().keep(),
        &srv.url,
        Store::temporary().unwrap(),
    );
    let e = ob.deliver("x", &msg).unwrap_err().to_string();
    assert!(e.contains("400"), "{e}");
    assert_eq!(srv.posts.load(Ordering::SeqCst), 1);
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
