// `embed_migrations!` reads the migration directories at compile time, but Cargo only knows to
// rebuild for the files a crate's sources name: without this, a new migration directory is
// silently left out of an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
