//! `sqlx::migrate!` embeds the migration files at compile time; without this, a new
//! migration is missed until some Rust source in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
