// sqlx's `migrate!` embeds the migration files at compile time; tell Cargo to
// rebuild when one is added or changed, or an incremental build would keep the
// old set and fail at run time with "no such column".
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
