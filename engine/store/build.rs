//! `sqlx::migrate!` embeds `migrations/` at compile time, and a proc macro
//! cannot tell cargo to watch a directory: without this, a new or changed
//! migration would not rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
