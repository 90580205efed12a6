//! `inbox-bench`: the performance benchmark of BENCHMARKS.md.
//!
//! For each database it seeds a clinic with bulk SQL at each size of the scale mode, starts the
//! release `inbox` server on it and measures, with wrk (one process per operation, so that each
//! operation gets its own latency distribution under the shared load):
//! - the read operations alone (tab list, timeline, search, inbox counts), at every size, after
//!   an unmeasured warm-up, and their growth;
//! - on the largest size, patients sending alone, then the mixed workload: patients sending
//!   while staff list tabs, open timelines, search, claim and close — with the server's peak RSS;
//! - on PostgreSQL, the floor: pgbench with one transaction that inserts a message-sized row and
//!   updates a conversation row, with as many clients as the patients sending.
//!
//! Run it with `tests/bench/run`, which builds both release binaries first.

mod seed;

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use diesel::connection::SimpleConnection;
use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};
use domain::roles::Role;
use persistence::db::{build_pool, run_migrations, write_transaction};
use persistence::schema::conversations;
use persistence::{DatabaseUrl, DbConnection};
use serde::Deserialize;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const WORKLOAD_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/workload.lua");
/// Staff clients of each operation in the mixed workload: a busy clinic's staff, beside the
/// patients sending.
const STAFF_CLIENTS_PER_OPERATION: u32 = 4;
/// Conversations each read fixture samples.
const SAMPLED_CONVERSATIONS: i64 = 4_000;
/// Words staff search for: common clinical, technical and billing words.
const SEARCH_WORDS: [&str; 8] = [
    "knee",
    "password",
    "appointment",
    "shoulder",
    "charged",
    "swelling",
    "exercises",
    "headset",
];

#[derive(Parser)]
#[command(about = "Seeds a clinic, starts the release server and measures it (see BENCHMARKS.md)")]
struct Args {
    /// Which databases to measure.
    #[arg(long, value_enum, default_value_t = BackendChoice::Both)]
    backend: BackendChoice,
    /// A PostgreSQL database to connect to; the scratch databases are created and dropped beside it.
    #[arg(
        long,
        env = "INBOX_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// Message counts of the scale mode (conversations = messages / 10, patients = messages / 100);
    /// the mixed workload runs on the largest.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    sizes: Vec<usize>,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds each read runs, one client, before the first measured phase of each database
    /// (0: none).
    #[arg(long, default_value_t = 5)]
    warm_up_seconds: u64,
    /// Patients sending at once in the mixed workload, and pgbench's clients.
    #[arg(long, default_value_t = 32)]
    send_clients: u32,
    /// Clients of each read operation when measured alone, one run per count: one client
    /// measures a request on a server with nothing else to do, eight keep both cores busy, where
    /// a request's latency is mostly its wait for a core.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,8",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    read_clients: Vec<u32>,
    /// Keep the seeded databases (and print where they are), to EXPLAIN or profile them.
    #[arg(long)]
    keep: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Operation {
    Send,
    Tab,
    Timeline,
    Search,
    Counts,
    ClaimClose,
}

impl Operation {
    const READS: [Operation; 4] = [
        Operation::Tab,
        Operation::Timeline,
        Operation::Search,
        Operation::Counts,
    ];
    const MIXED: [Operation; 5] = [
        Operation::Send,
        Operation::Tab,
        Operation::Timeline,
        Operation::Search,
        Operation::ClaimClose,
    ];

    fn name(self) -> &'static str {
        match self {
            Operation::Send => "send",
            Operation::Tab => "tab",
            Operation::Timeline => "timeline",
            Operation::Search => "search",
            Operation::Counts => "counts",
            Operation::ClaimClose => "claim_close",
        }
    }
}

/// What wrk's `done` in workload.lua prints.
#[derive(Deserialize, Clone, Copy)]
struct WrkSummary {
    requests: u64,
    duration_us: u64,
    p50_us: u64,
    p95_us: u64,
    p99_us: u64,
    max_us: u64,
    non_2xx: u64,
    socket_errors: u64,
}

impl WrkSummary {
    fn per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

struct Measured {
    operation: Operation,
    clients: u32,
    summary: WrkSummary,
}

fn main() {
    if let Err(error) = run(Args::parse()) {
        eprintln!("inbox-bench: {error}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> BenchResult<()> {
    check_tools()?;
    println!("{}", machine_description());
    let backends: &[persistence::Backend] = match args.backend {
        BackendChoice::Sqlite => &[persistence::Backend::Sqlite],
        BackendChoice::Postgres => &[persistence::Backend::Postgres],
        BackendChoice::Both => &[persistence::Backend::Postgres, persistence::Backend::Sqlite],
    };
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let largest = *sizes.last().ok_or("--sizes is empty")?;
    let floor = if backends.contains(&persistence::Backend::Postgres) {
        Some(pgbench_floor(&args)?)
    } else {
        None
    };
    for &backend in backends {
        let mut reads_by_size = Vec::new();
        for &messages in &sizes {
            let database =
                ScratchDatabase::create(backend, &args.postgres_url, messages, args.keep)?;
            let fixtures = seed_and_write_fixtures(&database, messages)?;
            let server = Server::start(
                &database.url,
                &fixtures.secret,
                &fixtures.directory.path().join("server.log"),
            )?;
            warm_up(&server, &fixtures, args.warm_up_seconds)?;
            let mut reads = Vec::new();
            for &clients in &args.read_clients {
                println!(
                    "\n{} at {} messages: reads alone, {} each, {} s",
                    database.label(),
                    thousands(messages),
                    clients_label(clients),
                    args.seconds
                );
                let measured = Operation::READS
                    .iter()
                    .map(|&operation| {
                        measure(&server, &fixtures, &[(operation, clients)], args.seconds)
                            .map(|mut measured| measured.remove(0))
                    })
                    .collect::<BenchResult<Vec<_>>>()?;
                print_table(&measured);
                reads.extend(measured);
            }
            if messages == largest {
                println!(
                    "\n{} at {} messages: patients sending alone, {} s",
                    database.label(),
                    thousands(messages),
                    args.seconds
                );
                let alone = measure(
                    &server,
                    &fixtures,
                    &[(Operation::Send, args.send_clients)],
                    args.seconds,
                )?;
                print_table(&alone);
                let sends = alone[0].summary.per_second();
                if let Some(floor) = floor {
                    println!(
                        "patient sends: {sends:.0}/s = {:.0} % of the pgbench floor ({floor:.0} tx/s, {} clients)",
                        100.0 * sends / floor,
                        args.send_clients
                    );
                }
                settle(
                    &mut *build_pool(&database.url, &Default::default()).get()?,
                    backend,
                )?;
                let mut mix = vec![(Operation::Send, args.send_clients)];
                mix.extend(
                    Operation::MIXED[1..]
                        .iter()
                        .map(|&operation| (operation, STAFF_CLIENTS_PER_OPERATION)),
                );
                println!(
                    "\n{} at {} messages: mixed workload, {} s",
                    database.label(),
                    thousands(messages),
                    args.seconds
                );
                let mixed = measure(&server, &fixtures, &mix, args.seconds)?;
                print_table(&mixed);
                println!(
                    "server peak RSS: {:.1} MB",
                    server.peak_rss_kib()? as f64 / 1024.0
                );
            }
            reads_by_size.push((messages, reads));
        }
        print_growth(&database_label(backend), &reads_by_size);
    }
    Ok(())
}

fn check_tools() -> BenchResult<()> {
    for (tool, install) in [
        ("wrk", "apt-get install wrk"),
        ("pgbench", "apt-get install postgresql-client"),
    ] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Err(format!("`{tool}` is not installed ({install})").into());
        }
    }
    Ok(())
}

fn machine_description() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    format!("machine: {cpu}, {cores} cores; load generator (wrk) on the same machine")
}

fn database_label(backend: persistence::Backend) -> String {
    match backend {
        persistence::Backend::Postgres => "PostgreSQL".to_owned(),
        persistence::Backend::Sqlite => "SQLite".to_owned(),
    }
}

/// A database that lives as long as one measured size: a SQLite file in a temporary directory,
/// or a PostgreSQL database created beside `--postgres-url` and dropped afterwards.
struct ScratchDatabase {
    url: DatabaseUrl,
    /// The admin URL and the name of a PostgreSQL database to drop at the end.
    postgres: Option<(String, String)>,
    _directory: Option<tempfile::TempDir>,
}

impl ScratchDatabase {
    fn create(
        backend: persistence::Backend,
        postgres_url: &str,
        messages: usize,
        keep: bool,
    ) -> BenchResult<Self> {
        match backend {
            persistence::Backend::Sqlite => {
                let directory = tempfile::tempdir()?;
                let path = directory.path().join("bench.db");
                let url = DatabaseUrl::parse(path.to_str().ok_or("a non-UTF-8 temporary path")?)?;
                let directory = if keep {
                    let kept = directory.keep();
                    println!("keeping {}", kept.join("bench.db").display());
                    None
                } else {
                    Some(directory)
                };
                Ok(Self {
                    url,
                    postgres: None,
                    _directory: directory,
                })
            }
            persistence::Backend::Postgres => {
                Self::postgres(postgres_url, &format!("inbox_bench_{messages}"), keep)
            }
        }
    }

    /// A fresh PostgreSQL database `name` beside `admin_url` (a leftover of an interrupted run
    /// is replaced).
    fn postgres(admin_url: &str, name: &str, keep: bool) -> BenchResult<Self> {
        let mut admin = diesel::PgConnection::establish(admin_url)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
        let url = http_tests::database_url_with_name(admin_url, name);
        if keep {
            println!("keeping {url}");
        }
        Ok(Self {
            url: DatabaseUrl::parse(&url)?,
            postgres: (!keep).then(|| (admin_url.to_owned(), name.to_owned())),
            _directory: None,
        })
    }

    fn label(&self) -> String {
        database_label(self.url.backend())
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// The rows files workload.lua reads, with tokens minted for the seeded people.
struct Fixtures {
    directory: tempfile::TempDir,
    secret: String,
}

impl Fixtures {
    fn rows_file(&self, operation: Operation) -> PathBuf {
        self.directory
            .path()
            .join(format!("{}.rows", operation.name()))
    }
}

/// Brings the database to the state autovacuum keeps a clinic's in, before the phases that follow
/// a bulk write: the seeding (whose search triggers leave a dead version of each conversation) and
/// the sends alone (a dead version per send), so that no phase's reads wade through the dead rows
/// of the one before. This machine's PostgreSQL runs with autovacuum off (BENCHMARKS.md); one with
/// it on would catch up in the quiet between two phases. ANALYZE gives the planner statistics,
/// without which PostgreSQL scans where it would use indexes. CHECKPOINT writes out what the bulk
/// write left dirty: otherwise the checkpoints that 1 M seeded messages set off (one to one and a
/// half minutes of writes) ran under the read phases, and in each of three runs one read had a p99
/// of 40–58 ms where its p95 was 10–19 ms. SQLite has no dead versions, and its VACUUM would
/// renumber the rows its FTS5 indexes refer to. PostgreSQL's VACUUM cannot run in a transaction;
/// SQLite's ANALYZE writes its statistics, which its connections do only in a write transaction.
fn settle(conn: &mut DbConnection, backend: persistence::Backend) -> BenchResult<()> {
    match backend {
        persistence::Backend::Postgres => {
            for statement in ["VACUUM ANALYZE", "CHECKPOINT"] {
                diesel::sql_query(statement).execute(conn)?;
            }
        }
        persistence::Backend::Sqlite => {
            write_transaction(conn, |conn| diesel::sql_query("ANALYZE").execute(conn))?;
        }
    }
    Ok(())
}

fn seed_and_write_fixtures(database: &ScratchDatabase, messages: usize) -> BenchResult<Fixtures> {
    let pool = build_pool(&database.url, &Default::default());
    let mut conn = pool.get()?;
    run_migrations(&mut conn)?;
    let started = Instant::now();
    let seeded = seed::seed(&mut conn, &seed::Scale { messages })?;
    settle(&mut conn, database.url.backend())?;
    println!(
        "\n{}: seeded {} messages ({} rows, {} patients) in {:.1} s",
        database.label(),
        thousands(messages),
        thousands(seeded.rows),
        thousands(seeded.patients.len()),
        started.elapsed().as_secs_f64()
    );
    let secret = format!("bench-{}", uuid::Uuid::now_v7().simple());
    let keys = api::auth::tokens::TokenKeys::new(
        secret.as_bytes(),
        Duration::from_secs(6 * 3600),
        Duration::from_secs(6 * 3600),
    );
    let token = |id: &str, role: Role| keys.issue_access_token(id, &seeded.organization_id, role);
    let staff_of = |role: Role| -> BenchResult<Vec<String>> {
        seeded
            .staff
            .iter()
            .filter(|member| member.role == role.as_str())
            .map(|member| Ok(token(&member.id, role)?))
            .collect()
    };
    let clinicians = staff_of(Role::Clinician)?;
    let support = staff_of(Role::Support)?;
    let directory = tempfile::tempdir()?;
    let fixtures = Fixtures { directory, secret };

    let mut rows = String::new();
    for patient in &seeded.patients {
        let patient_token = token(&patient.id, Role::Patient)?;
        writeln!(rows, "{patient_token} {}", patient.conversation_ids[0])?;
    }
    fs::write(fixtures.rows_file(Operation::Send), &rows)?;

    let mut rows = String::new();
    for (index, clinician) in clinicians.iter().enumerate() {
        for tab in ["assigned", "my_clinic", "closed"] {
            writeln!(rows, "{clinician} {tab}")?;
        }
        let agent = &support[index % support.len()];
        writeln!(rows, "{agent} support")?;
    }
    fs::write(fixtures.rows_file(Operation::Tab), &rows)?;

    let rows: String = clinicians
        .iter()
        .chain(&support)
        .map(|token| format!("{token}\n"))
        .collect();
    fs::write(fixtures.rows_file(Operation::Counts), rows)?;

    let mut rows = String::new();
    for (index, word) in SEARCH_WORDS
        .iter()
        .cycle()
        .take(SEARCH_WORDS.len() * 3)
        .enumerate()
    {
        let clinician = &clinicians[index % clinicians.len()];
        let tab = ["closed", "my_clinic", "assigned"][index % 3];
        writeln!(rows, "{clinician} {tab} {word}")?;
    }
    fs::write(fixtures.rows_file(Operation::Search), &rows)?;

    let sampled: Vec<(String, String)> = conversations::table
        .filter(conversations::organization_id.eq(&seeded.organization_id))
        .select((conversations::id, conversations::team))
        .order(diesel::dsl::sql::<diesel::sql_types::Double>("random()"))
        .limit(SAMPLED_CONVERSATIONS)
        .load(&mut conn)?;
    let mut rows = String::new();
    for (index, (id, team)) in sampled.iter().enumerate() {
        let staff = if team == "support" {
            &support
        } else {
            &clinicians
        };
        writeln!(rows, "{} {id}", staff[index % staff.len()])?;
    }
    fs::write(fixtures.rows_file(Operation::Timeline), rows)?;

    let claimable: Vec<String> = conversations::table
        .filter(conversations::organization_id.eq(&seeded.organization_id))
        .filter(conversations::status.eq("open"))
        .filter(conversations::team.eq("care_team"))
        .filter(conversations::claimed_by.is_null())
        .select(conversations::id)
        .order(diesel::dsl::sql::<diesel::sql_types::Double>("random()"))
        .load(&mut conn)?;
    if claimable.is_empty() {
        return Err("the seeded clinic has no open, unclaimed care-team conversation".into());
    }
    let mut rows = String::new();
    for (index, id) in claimable.iter().enumerate() {
        writeln!(rows, "{} {id}", clinicians[index % clinicians.len()])?;
    }
    fs::write(fixtures.rows_file(Operation::ClaimClose), rows)?;
    Ok(fixtures)
}

/// The release `inbox` server, built beside this binary.
struct Server {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Server {
    fn start(url: &DatabaseUrl, secret: &str, log: &Path) -> BenchResult<Self> {
        let binary = std::env::current_exe()?
            .parent()
            .ok_or("no directory beside the benchmark binary")?
            .join("inbox");
        if !binary.exists() {
            return Err(format!("{} is missing: build it with `cargo build --release -p api --bin inbox` (tests/bench/run does)", binary.display()).into());
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", url.as_str())
            .env("INBOX_BIND", &address)
            .env("INBOX_JWT_SECRET", secret)
            // The limits are sized for people; the load generator is not one.
            .env("INBOX_SEND_RATE_PER_MINUTE", "100000000")
            .env("INBOX_AUTH_RATE_PER_MINUTE", "100000000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(log)?)
            .spawn()?;
        let mut server = Self {
            child,
            address,
            log: log.to_owned(),
        };
        server.wait_until_listening()?;
        Ok(server)
    }

    /// The server binds only after migrating, so an accepted connection means ready.
    fn wait_until_listening(&mut self) -> BenchResult<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!(
                    "the server exited at start-up ({status}); its log: {}",
                    self.log.display()
                )
                .into());
            }
            if TcpStream::connect(&self.address).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not listen within 60 s".into())
    }

    /// The high-water mark of the server's resident set since it started.
    fn peak_rss_kib(&self) -> BenchResult<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmHWM in /proc/<pid>/status".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one wrk per operation, all at once, and returns their summaries in the same order.
fn measure(
    server: &Server,
    fixtures: &Fixtures,
    mix: &[(Operation, u32)],
    seconds: u64,
) -> BenchResult<Vec<Measured>> {
    let children = mix
        .iter()
        .map(|&(operation, clients)| {
            Command::new("wrk")
                .args([
                    "-t1",
                    &format!("-c{clients}"),
                    &format!("-d{seconds}s"),
                    "--timeout",
                    "10s",
                    "-s",
                    WORKLOAD_SCRIPT,
                ])
                .arg(format!("http://{}", server.address))
                .arg("--")
                .arg(operation.name())
                .arg(fixtures.rows_file(operation))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    mix.iter()
        .zip(children)
        .map(|(&(operation, clients), child)| {
            let summary = wrk_summary(&child.wait_with_output()?)?;
            Ok(Measured {
                operation,
                clients,
                summary,
            })
        })
        .collect()
}

/// The first phase after seeding met a database PostgreSQL had not settled into: on some
/// instances it stalled (the tab at one client with a p95 of 327 ms where its p50 was 3.6 ms,
/// BENCHMARKS.md) while the phases after it, on the same data, did not. So each read runs once,
/// unmeasured, first.
fn warm_up(server: &Server, fixtures: &Fixtures, seconds: u64) -> BenchResult<()> {
    if seconds == 0 {
        return Ok(());
    }
    println!("\nwarm-up: each read alone for {seconds} s, one client, not measured");
    for operation in Operation::READS {
        measure(server, fixtures, &[(operation, 1)], seconds)?;
    }
    Ok(())
}

fn wrk_summary(output: &Output) -> BenchResult<WrkSummary> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("BENCH_JSON "))
        .ok_or_else(|| {
            format!(
                "wrk printed no summary: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(serde_json::from_str(line)?)
}

fn print_table(measured: &[Measured]) {
    println!(
        "{:<12} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "operation", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    );
    for Measured {
        operation,
        clients,
        summary,
    } in measured
    {
        println!(
            "{:<12} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
            operation.name(),
            clients,
            summary.per_second(),
            milliseconds(summary.p50_us),
            milliseconds(summary.p95_us),
            milliseconds(summary.p99_us),
            milliseconds(summary.max_us),
            summary.non_2xx + summary.socket_errors
        );
    }
}

fn print_growth(label: &str, reads_by_size: &[(usize, Vec<Measured>)]) {
    let (Some((smallest, small)), Some((largest, large))) =
        (reads_by_size.first(), reads_by_size.last())
    else {
        return;
    };
    if smallest == largest {
        return;
    }
    println!(
        "\n{label}: p99 growth from {} to {} messages",
        thousands(*smallest),
        thousands(*largest)
    );
    for (small, large) in small.iter().zip(large) {
        println!(
            "{:<12} {:<10} {:>8.2} ms -> {:>8.2} ms = {:.2}x",
            small.operation.name(),
            clients_label(small.clients),
            milliseconds(small.summary.p99_us),
            milliseconds(large.summary.p99_us),
            large.summary.p99_us as f64 / small.summary.p99_us.max(1) as f64
        );
    }
}

/// pgbench's transactions per second for the write a patient send cannot do without: insert a
/// message-sized row and update its conversation, in one transaction.
fn pgbench_floor(args: &Args) -> BenchResult<f64> {
    let database = ScratchDatabase::postgres(&args.postgres_url, "inbox_bench_floor", false)?;
    let url = database.url.as_str();
    let mut connection = diesel::PgConnection::establish(url)?;
    let autovacuum: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "current_setting('autovacuum')",
    ))
    .get_result(&mut connection)?;
    println!("PostgreSQL autovacuum: {autovacuum} (the benchmark vacuums after seeding and after the sends alone)");
    connection.batch_execute(
        "CREATE TABLE conversations (id INTEGER PRIMARY KEY, last_message_at TIMESTAMP NOT NULL);
         CREATE TABLE messages (id BIGSERIAL PRIMARY KEY, conversation_id INTEGER NOT NULL,
             body TEXT NOT NULL, created_at TIMESTAMP NOT NULL);
         INSERT INTO conversations SELECT id, now() FROM generate_series(1, 100000) AS id;",
    )?;
    let script = Path::new(&std::env::temp_dir()).join("inbox-bench-floor.sql");
    fs::write(
        &script,
        "\\set conversation random(1, 100000)\n\
         BEGIN;\n\
         INSERT INTO messages (conversation_id, body, created_at) VALUES (:conversation, \
         'Hi, my knee still hurts after the squats on day 3 of the plan. Should I keep doing \
         them or skip to the stretching routine until it feels better? Thanks!', now());\n\
         UPDATE conversations SET last_message_at = now() WHERE id = :conversation;\n\
         END;\n",
    )?;
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &args.send_clients.to_string(),
            "-j",
            "2",
            "-T",
            &args.seconds.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()?;
    let _ = fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tps = stdout
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line["tps = ".len()..].split_whitespace().next())
        .and_then(|value| value.parse::<f64>().ok())
        .ok_or_else(|| {
            format!(
                "pgbench printed no tps: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    println!("\npgbench floor: {tps:.0} tx/s ({} clients, {} s): insert a message row + update its conversation", args.send_clients, args.seconds);
    Ok(tps)
}

fn clients_label(clients: u32) -> String {
    match clients {
        1 => "1 client".to_owned(),
        _ => format!("{clients} clients"),
    }
}

fn milliseconds(microseconds: u64) -> f64 {
    microseconds as f64 / 1000.0
}

fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
