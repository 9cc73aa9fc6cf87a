//! `end_session` closes a live session of a real chromedriver by id (as the
//! engine does when a robot process dies holding one), with a real HTTP client.

use marc_webdriver::{end_session, Browser, BrowserOptions, Chromedriver};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_ended_by_id_and_then_gone() {
    let driver = Chromedriver::start(None).await.expect("chromedriver");
    let b = Browser::open(driver.url(), &BrowserOptions::default())
        .await
        .expect("a browser session");
    let id = b.session_id().await.expect("a session id");
    end_session(driver.url(), &id)
        .await
        .expect("DELETE /session/{id}");
    assert!(b.current_url().await.is_err(), "the session should be gone");
    assert!(end_session("https://127.0.0.1:1", &id).await.is_err());
    driver.stop().await;
}
