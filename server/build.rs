// `sqlx::migrate!` embeds server/migrations at compile time; a migration
// file added (not only one edited) must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
