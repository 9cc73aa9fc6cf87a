//! A panic whose message carries a secret registered with the process prints it masked. The test re-runs itself
//! as a child process (the panic hook is process-wide) and reads the child's stderr.

use marc_vault::{install_panic_redaction, register_secret};
use std::process::Command;

const SECRET: &str = "pw-XYZ-123";

#[test]
fn panic_message_is_masked() {
    if std::env::var_os("MARC_VAULT_PANIC_CHILD").is_some() {
        install_panic_redaction();
        register_secret(SECRET);
        panic!("login failed with password {SECRET}");
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "panic_message_is_masked",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MARC_VAULT_PANIC_CHILD", "1")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the child should have panicked: {all}"
    );
    assert!(all.contains("login failed with password ***"), "{all}");
    assert!(!all.contains(SECRET), "{all}");
}
