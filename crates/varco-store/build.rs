// Embeds the migration files (migrations/<backend>/NNNN_name.sql) in the crate:
// writes `$OUT_DIR/migrations.rs` with one entry per file, in version order, and
// tells Cargo to rebuild when one is added or changed (an incremental build would
// otherwise keep the old set and fail at run time with "no such column"). We do
// this ourselves rather than with sqlx's `migrate!` so that sqlx's proc-macro
// crates (and a second build of the drivers they pull in) are not compiled.
use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = root.join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        writeln!(out, "pub const {}: &[(i64, &str, &str)] = &[", backend.to_uppercase()).unwrap();
        for f in files {
            let name = f.file_stem().and_then(|s| s.to_str()).expect("UTF-8 file name");
            let (version, description) = name.split_once('_').unwrap_or_else(|| panic!("{name}: NNNN_name.sql"));
            let version: i64 = version.parse().unwrap_or_else(|_| panic!("{name}: the version is a number"));
            // The same description sqlx's `migrate!` gave (underscores as spaces).
            let description = description.replace('_', " ");
            writeln!(out, "    ({version}, {description:?}, include_str!({:?})),", f.display().to_string()).unwrap();
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(dest, out).expect("write migrations.rs");
}
