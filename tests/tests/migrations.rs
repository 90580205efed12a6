//! Instances that start together on one database: each migration is applied once.

use std::sync::{Arc, Barrier};

use http_tests::TestDatabase;

/// The embedded migrations of the run's backend.
fn migration_count() -> usize {
    let folder = match http_tests::backend_name() {
        "postgres" => "postgres",
        _ => "sqlite",
    };
    std::fs::read_dir(format!(
        "{}/../migrations/{folder}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .filter(|entry| entry.as_ref().unwrap().path().join("up.sql").exists())
    .count()
}

#[test]
fn instances_starting_together_apply_each_migration_once() {
    const INSTANCES: usize = 4;
    let (_database, url) = TestDatabase::create();
    let together = Arc::new(Barrier::new(INSTANCES));
    let starts: Vec<_> = (0..INSTANCES)
        .map(|_| {
            let url = url.clone();
            let together = together.clone();
            std::thread::spawn(move || {
                let pool = persistence::db::build_pool(&url, &Default::default());
                let mut conn = pool.get().unwrap();
                together.wait();
                persistence::db::run_migrations(&mut conn)
            })
        })
        .collect();
    let applied: Vec<usize> = starts
        .into_iter()
        .map(|start| start.join().unwrap().expect("every instance migrates"))
        .collect();

    assert_eq!(
        applied.iter().sum::<usize>(),
        migration_count(),
        "each migration ran once, by one of the instances: {applied:?}"
    );
    let pool = persistence::db::build_pool(&url, &Default::default());
    assert_eq!(
        persistence::db::run_migrations(&mut pool.get().unwrap()).unwrap(),
        0,
        "nothing is left pending"
    );
}
