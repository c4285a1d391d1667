//! Synthetic fleets for snapshot tests and the frame benchmark: fixed, plausible
//! figures so a rendered frame is the same on every run.

use crate::config::{Environment, HostEntry, LogSource, Profile};
use crate::health::{DiskUsage, HostHealth, ProcessInfo, ServiceState, Status};

use super::app::App;
use super::event::Event;

/// The fixed "now" of every fixture (2026-11-18 11:06:40 UTC).
pub const NOW: i64 = 1_795_000_000;

fn entry(name: &str, address: &str, roles: &[&str]) -> HostEntry {
    HostEntry {
        name: name.into(),
        address: Some(address.into()),
        port: None,
        transport: Default::default(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        user: None,
        identity_files: None,
        jump: None,
        known_hosts: None,
        services: Vec::new(),
        logs: None,
    }
}

pub fn profile(name: &str, environment: Environment, hosts: Vec<HostEntry>) -> Profile {
    let mut p: Profile =
        toml::from_str(&format!("name = {name:?}")).unwrap_or_else(|e| panic!("{e}"));
    p.environment = environment;
    p.hosts = hosts;
    p.health.services = vec!["nginx".into(), "gunicorn".into()];
    p.health.logs = vec![LogSource {
        unit: Some("nginx".into()),
        file: None,
    }];
    p
}

fn disk(mount: &str, pct: f64, size_gb: u64) -> DiskUsage {
    let size = size_gb << 30;
    let used = (size as f64 * pct / 100.0) as u64;
    DiskUsage {
        mount: mount.into(),
        device: format!("/dev/{}", if mount == "/" { "sda1" } else { "sdb1" }),
        fs_type: "ext4".into(),
        size_bytes: size,
        used_bytes: used,
        avail_bytes: size - used,
        used_pct: pct,
        status: if pct >= 90.0 {
            Status::Critical
        } else if pct >= 80.0 {
            Status::Warn
        } else {
            Status::Up
        },
    }
}

fn svc(name: &str, active: &str, sub: &str) -> ServiceState {
    ServiceState {
        name: name.into(),
        active: active.into(),
        sub: sub.into(),
        status: if active == "active" {
            Status::Up
        } else {
            Status::Critical
        },
    }
}

/// A healthy-looking probe result whose figures vary with `seed`.
pub fn healthy(name: &str, address: &str, roles: &[&str], seed: u64) -> HostHealth {
    let f = |k: u64, m: u64| ((seed.wrapping_mul(2_654_435_761).wrapping_add(k * 97)) % m) as f64;
    HostHealth {
        name: name.into(),
        address: address.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        status: Status::Up,
        error: None,
        error_kind: None,
        reasons: Vec::new(),
        last_seen: Some(NOW - 1),
        load1: Some(0.2 + f(1, 30) / 10.0),
        load5: Some(0.3 + f(2, 20) / 10.0),
        load15: Some(0.4 + f(3, 15) / 10.0),
        cores: Some(4),
        cpu_pct: Some(5.0 + f(4, 60)),
        mem_total_bytes: Some(8 << 30),
        mem_used_pct: Some(30.0 + f(5, 40)),
        swap_used_pct: Some(0.0),
        disks: vec![
            disk("/", 40.0 + f(6, 30), 40),
            disk("/var/lib", 20.0 + f(7, 40), 200),
        ],
        net_rx_bps: Some(20_000.0 + f(8, 900_000)),
        net_tx_bps: Some(10_000.0 + f(9, 400_000)),
        uptime_secs: Some(86_400.0 * (1.0 + f(10, 40)) + 3600.0 * f(11, 24)),
        procs: Some(180 + f(12, 100) as u32),
        services: vec![
            svc("nginx", "active", "running"),
            svc("gunicorn", "active", "running"),
        ],
        top: vec![
            ProcessInfo {
                pid: 2211,
                user: "www-data".into(),
                cpu_pct: 31.5,
                mem_pct: 4.2,
                rss_bytes: 350 << 20,
                command: "gunicorn: worker [shop.wsgi]".into(),
            },
            ProcessInfo {
                pid: 2209,
                user: "www-data".into(),
                cpu_pct: 12.0,
                mem_pct: 4.0,
                rss_bytes: 330 << 20,
                command: "gunicorn: worker [shop.wsgi]".into(),
            },
            ProcessInfo {
                pid: 913,
                user: "root".into(),
                cpu_pct: 2.1,
                mem_pct: 0.3,
                rss_bytes: 12 << 20,
                command: "nginx: master process /usr/sbin/nginx".into(),
            },
        ],
        probe_ms: Some(40.0 + f(13, 80)),
    }
}

/// Four hosts: up, warn, critical, unreachable; plus one not probed yet.
pub fn mixed_fleet(environment: Environment, width: u16, height: u16) -> App {
    let hosts = mixed_hosts();
    let p = profile("shop-prod", environment, hosts);
    populate(App::new(&p, NOW, width, height))
}

fn mixed_hosts() -> Vec<HostEntry> {
    vec![
        entry("web1", "10.0.0.11", &["web", "app"]),
        entry("web2", "10.0.0.12", &["web", "app"]),
        entry("db1", "10.0.0.21", &["db"]),
        entry("cache1", "10.0.0.31", &["cache"]),
        entry("worker1", "10.0.0.41", &["worker"]),
    ]
}

/// The mixed fleet's figures, history and log.
fn populate(mut app: App) -> App {
    // History first so sparklines and charts have a shape.
    for step in 0..40u64 {
        let at = NOW - 2 * (40 - step as i64);
        for (i, (name, addr, roles)) in [
            ("web1", "10.0.0.11", &["web", "app"][..]),
            ("web2", "10.0.0.12", &["web", "app"][..]),
            ("db1", "10.0.0.21", &["db"][..]),
            ("cache1", "10.0.0.31", &["cache"][..]),
        ]
        .iter()
        .enumerate()
        {
            let mut h = healthy(name, addr, roles, step * 7 + i as u64);
            h.cpu_pct = Some(10.0 + ((step as f64 + i as f64 * 3.0) / 4.0).sin().abs() * 60.0);
            app.update(Event::Health {
                host: i,
                health: Box::new(h),
                at,
            });
        }
    }
    let mut warn = healthy("web2", "10.0.0.12", &["web", "app"], 3);
    warn.status = Status::Warn;
    warn.cpu_pct = Some(91.0);
    warn.reasons = vec!["cpu 91%".into()];
    app.update(Event::Health {
        host: 1,
        health: Box::new(warn),
        at: NOW - 1,
    });
    let mut crit = healthy("db1", "10.0.0.21", &["db"], 5);
    crit.status = Status::Critical;
    crit.disks[1] = disk("/var/lib", 95.0, 200);
    crit.services = vec![
        svc("nginx", "active", "running"),
        svc("gunicorn", "failed", "failed"),
    ];
    crit.reasons = vec!["disk /var/lib 95%".into(), "gunicorn failed".into()];
    app.update(Event::Health {
        host: 2,
        health: Box::new(crit),
        at: NOW - 1,
    });
    let down = HostHealth {
        name: "cache1".into(),
        address: "10.0.0.31".into(),
        roles: vec!["cache".into()],
        status: Status::Unreachable,
        error: Some("timeout after 5s".into()),
        last_seen: Some(NOW - 185),
        ..HostHealth::default()
    };
    app.update(Event::Health {
        host: 3,
        health: Box::new(down),
        at: NOW - 1,
    });
    app.update(Event::Checks(vec![crate::health::CheckResult {
        name: "shop".into(),
        url: "https://10.0.0.11/health".into(),
        status: Status::Up,
        http_status: Some(200),
        latency_ms: Some(84.0),
        cert_days_left: Some(61.0),
        error: None,
    }]));
    app.update(Event::LogLines {
        host: 0,
        lines: (0..30)
            .map(|i| {
                format!(
                    "Nov 18 11:0{}:{:02} web1 nginx[913]: 10.0.0.5 \"GET /api/orders/{} HTTP/1.1\" {} {}ms",
                    i / 10,
                    i * 2 % 60,
                    100 + i,
                    if i % 7 == 3 { 502 } else { 200 },
                    20 + i * 3
                )
            })
            .collect(),
    });
    // Alerts raised while building the fixture are not part of the fixed state.
    app.notices.clear();
    app.prepare();
    app
}

/// `n` healthy hosts with history, for the frame benchmark.
pub fn large_fleet(n: usize, width: u16, height: u16) -> App {
    let roles = ["web", "app", "db", "cache", "worker"];
    let hosts: Vec<HostEntry> = (0..n)
        .map(|i| {
            entry(
                &format!("host{i:04}"),
                &format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                &[roles[i % roles.len()]],
            )
        })
        .collect();
    let p = profile("bench", Environment::Production, hosts);
    let mut app = App::new(&p, NOW, width, height);
    for step in 0..30u64 {
        for i in 0..n {
            let mut h = healthy(
                &app.hosts[i].name.clone(),
                "",
                &[roles[i % roles.len()]],
                step * 131 + i as u64,
            );
            if i % 97 == 5 {
                h.status = Status::Warn;
            }
            if i % 211 == 7 {
                h.status = Status::Unreachable;
                h.error = Some("connect failed".into());
            }
            app.update(Event::Health {
                host: i,
                health: Box::new(h),
                at: NOW - 60 + 2 * step as i64,
            });
        }
    }
    app.notices.clear();
    app.prepare();
    app
}

/// The mixed fleet with two databases (`shop` on PostgreSQL, `reports` on
/// MariaDB), `shop` refreshed twice: statements with rates, and sessions with a
/// lock chain, a transaction left idle and a long query.
pub fn with_databases(environment: Environment, read_only: bool, width: u16, height: u16) -> App {
    let mut p = profile("shop-prod", environment, mixed_hosts());
    p.read_only = read_only;
    let dbs: Profile = toml::from_str(
        r#"name = "dbs"
[[databases]]
name = "shop"
engine = "postgresql"
host = "10.0.0.21"
user = "opsctl_monitor"
password_env = "SHOP_DB_PASSWORD"
[[databases]]
name = "reports"
engine = "mariadb"
host = "10.0.0.21"
user = "monitor"
password_env = "REPORTS_DB_PASSWORD"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    p.databases = dbs.databases;
    let mut app = populate(App::new(&p, NOW, width, height));
    app.update(Event::Queries {
        db: "shop".into(),
        report: Ok(std::sync::Arc::new(shop_report())),
    });
    app.notices.clear();
    app.prepare();
    app
}

/// A plausible refresh of the shop's PostgreSQL.
pub fn shop_report() -> crate::db::model::Report {
    use crate::db::model::{Report, Session, Statement};
    let st = |id: &str, query: &str, calls_s: f64, mean: f64, share: f64, hit: f64| Statement {
        id: format!("0x{id}"),
        queryid: id.into(),
        fingerprint: query.to_lowercase(),
        query: query.into(),
        database: Some("shop".into()),
        user: Some("shop".into()),
        calls: (calls_s * 3600.0) as u64,
        total_ms: calls_s * 3600.0 * mean,
        rows: (calls_s * 3600.0) as u64,
        mean_ms: mean,
        calls_per_s: Some(calls_s),
        time_ms_per_s: Some(calls_s * mean),
        rows_per_s: Some(calls_s * 1.5),
        interval_mean_ms: Some(mean),
        share,
        hit_pct: Some(hit),
    };
    let statements = vec![
        st(
            "9f3a51c2d4e6",
            "SELECT o.id, o.total FROM shop_order o JOIN shop_customer c ON c.id = o.customer_id WHERE c.email = $1",
            4.2,
            180.0,
            0.61,
            71.0,
        ),
        st(
            "1b2c3d4e5f60",
            "SELECT * FROM shop_product WHERE id = $1",
            220.0,
            0.21,
            0.19,
            99.8,
        ),
        st(
            "77aa88bb99cc",
            "UPDATE shop_stock SET quantity = quantity - $1 WHERE product_id = $2",
            12.0,
            2.4,
            0.12,
            99.0,
        ),
        st(
            "0d0e0f101112",
            "INSERT INTO django_session (session_key, session_data, expire_date) VALUES ($1, $2, $3)",
            30.0,
            0.35,
            0.05,
            100.0,
        ),
        st(
            "abcdef012345",
            "SELECT count(*) FROM shop_review WHERE product_id = $1",
            8.0,
            0.4,
            0.03,
            98.0,
        ),
    ];
    let se = |pid: i64, state: &str, age: Option<f64>, query: &str, blocked_by: &[i64]| Session {
        pid,
        user: Some("shop".into()),
        database: Some("shop".into()),
        client: Some(format!("10.0.0.{}:{}", 11 + pid % 2, 40000 + pid)),
        state: Some(state.into()),
        wait_event: (!blocked_by.is_empty()).then(|| "Lock:transactionid".to_string()),
        xact_age_s: age.map(|a| a + 0.5),
        query_age_s: age,
        query: Some(query.into()),
        blocked_by: blocked_by.to_vec(),
    };
    let activity = vec![
        se(4101, "idle", None, "COMMIT", &[]),
        se(
            4102,
            "active",
            Some(0.8),
            "SELECT * FROM shop_product WHERE id = 7",
            &[],
        ),
        se(
            4107,
            "idle in transaction",
            Some(412.0),
            "UPDATE shop_stock SET quantity = quantity - 1 WHERE product_id = 42",
            &[],
        ),
        se(
            4110,
            "active",
            Some(95.0),
            "UPDATE shop_stock SET quantity = quantity - 2 WHERE product_id = 42",
            &[4107],
        ),
        se(
            4111,
            "active",
            Some(31.0),
            "UPDATE shop_stock SET quantity = quantity - 1 WHERE product_id = 42",
            &[4107, 4110],
        ),
        se(
            4120,
            "active",
            Some(74.0),
            "SELECT o.id, o.total FROM shop_order o JOIN shop_customer c ON c.id = o.customer_id WHERE c.email = 'ann@example.com'",
            &[],
        ),
    ];
    Report {
        engine: crate::config::Engine::Postgresql,
        server_version: "15.10 (Debian 15.10-0+deb12u1)".into(),
        statements,
        activity,
        interval_s: Some(2.0),
    }
}

/// A busy server for the frame benchmark: `statements` classes and `sessions`
/// sessions (every tenth waiting on the one before it), `seed` varying the rates.
pub fn busy_report(statements: usize, sessions: usize, seed: u64) -> crate::db::model::Report {
    use crate::db::model::{Report, Session, Statement};
    let statements = (0..statements)
        .map(|i| {
            let x = ((i as u64).wrapping_mul(2_654_435_761) ^ seed) % 10_000;
            let calls_s = x as f64 / 100.0;
            let mean = (x % 97) as f64 / 3.0 + 0.1;
            Statement {
                id: format!("0x{:032X}", i),
                queryid: i.to_string(),
                fingerprint: format!("select * from t{} where id = ?", i % 300),
                query: format!("SELECT * FROM t{} WHERE id = $1 AND k = {}", i % 300, i),
                database: Some("shop".into()),
                user: Some(format!("app{}", i % 7)),
                calls: x * 1000,
                total_ms: x as f64 * 1000.0 * mean,
                rows: x * 1000,
                mean_ms: mean,
                calls_per_s: Some(calls_s),
                time_ms_per_s: Some(calls_s * mean),
                rows_per_s: Some(calls_s),
                interval_mean_ms: Some(mean),
                share: calls_s * mean / 500_000.0,
                hit_pct: Some(99.0 - (x % 20) as f64),
            }
        })
        .collect();
    let activity = (0..sessions)
        .map(|i| {
            let pid = 10_000 + i as i64;
            let waits = i % 10 == 9;
            Session {
                pid,
                user: Some("shop".into()),
                database: Some("shop".into()),
                client: Some(format!("10.0.1.{}:{}", i % 250, 40000 + i)),
                state: Some(if i % 3 == 0 { "active" } else { "idle" }.into()),
                wait_event: waits.then(|| "Lock:transactionid".to_string()),
                xact_age_s: Some((i % 60) as f64),
                query_age_s: Some((i % 30) as f64),
                query: Some(format!("SELECT * FROM t{} WHERE id = {}", i % 300, i)),
                blocked_by: if waits { vec![pid - 1] } else { Vec::new() },
            }
        })
        .collect();
    Report {
        engine: crate::config::Engine::Postgresql,
        server_version: "15.10".into(),
        statements,
        activity,
        interval_s: Some(2.0),
    }
}

/// Where the audit fixtures say the log is.
pub const AUDIT_PATH: &str = "/home/ana/.local/state/opsctl/audit.jsonl";

/// A week of changes on the shop (one of each outcome, a failed deploy with its
/// steps and output), written from a machine an hour east of UTC, and one line
/// of the log that is not a record.
pub fn audit_log() -> super::event::AuditSnapshot {
    use crate::ops::{AuditRecord, Outcome};
    let rec = |at: &str,
               who: &str,
               env: &str,
               change: &str,
               target: &str,
               outcome: Outcome,
               detail: &str,
               ms: f64| AuditRecord {
        at: at.into(),
        who: who.into(),
        profile: "shop-prod".into(),
        environment: env.into(),
        change: change.into(),
        target: target.into(),
        outcome,
        detail: detail.into(),
        plan_id: format!("{change}-{}", &at[..10]),
        steps: Vec::new(),
        duration_ms: ms,
        output_tail: String::new(),
    };
    let mut records = vec![
        rec(
            "2026-11-11T09:12:03Z",
            "ana@ops1",
            "staging",
            "deploy",
            "web (3 hosts)",
            Outcome::Ok,
            "release 2026.11.11-1 live on web1, web2, web3",
            48_200.0,
        ),
        rec(
            "2026-11-14T16:40:51Z",
            "ben@laptop",
            "production",
            "query.cancel",
            "shop: pid 4107",
            Outcome::Refused,
            "read-only profile: changes are refused",
            0.0,
        ),
        rec(
            "2026-11-17T22:05:10Z",
            "ana@ops1",
            "production",
            "deploy",
            "web (3 hosts)",
            Outcome::RolledBack,
            "health gate failed on web2 (HTTP 502); every host back on 2026.11.10-2",
            95_400.0,
        ),
        rec(
            "2026-11-18T08:30:00Z",
            "war-room",
            "production",
            "query.kill",
            "shop: pid 4110",
            Outcome::Ok,
            "session 4110 ended",
            31.0,
        ),
        rec(
            "2026-11-18T10:58:22Z",
            "ana@ops1",
            "production",
            "deploy",
            "web (3 hosts)",
            Outcome::Failed,
            "web1: git fetch failed: exit 128\nlock released; web1 left on 2026.11.10-2",
            7_350.0,
        ),
    ];
    if let Some(last) = records.last_mut() {
        last.steps = vec![
            "lock deploy on shop-prod".into(),
            "web1: git -C /srv/shop/repo fetch origin".into(),
            "web1: checkout release 2026.11.18-1 into /srv/shop/releases/2026.11.18-1".into(),
            "web1: switch current -> releases/2026.11.18-1".into(),
            "web1: systemctl reload gunicorn-shop".into(),
        ];
        last.output_tail = "fatal: unable to access 'https://git.example/shop.git/': \
                            Could not resolve host: git.example\nexit status 128"
            .into();
    }
    let entries = records
        .into_iter()
        .map(|record| super::event::AuditEntry {
            at_us: record.at_micros(),
            utc_offset_s: 3600,
            record,
        })
        .collect();
    super::event::AuditSnapshot {
        entries,
        bad_lines: vec![4],
    }
}

/// A fleet whose profile deploys the shop to web1 and web2.
pub fn with_app(environment: Environment, width: u16, height: u16) -> App {
    let mut p = profile("shop-prod", environment, mixed_hosts());
    let app: Profile = toml::from_str(
        r#"name = "app"
[app]
name = "shop"
path = "/srv/shop"
hosts = ["web1", "web2"]
repository = "git@git.example.com:shop/shop.git"
branch = "main"
[app.health]
url = "http://{address}:8000/healthz"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    p.app = app.app;
    let mut app = populate(App::new(&p, NOW, width, height));
    app.notices.clear();
    app.prepare();
    app
}

/// What the Deploy tab reads: web1 on v2, web2 still on v1 (drift), and the lock
/// held by another operator when `locked`.
pub fn deploy_status(locked: bool) -> crate::console::event::DeployStatus {
    use crate::ops::deploy::releases::{FleetReleases, parse_listing};
    let v1 = "61c13bf0e5d0a1b2c3d4e5f60718293a4b5c6d7e";
    let v2 = "c9e49f885fe13e35385022d46c38331f3e85e340";
    let listing = |current: &str| {
        format!(
            "CURRENT\treleases/{current}\n\
REL\t20261125101500_61c13bf\t{v1}\tv1\troot\t\n\
REL\t20261201194500_c9e49f8\t{v2}\tv2\tana@laptop\t\n"
        )
    };
    let fleet = FleetReleases::new(vec![
        parse_listing("web1", &listing("20261201194500_c9e49f8")),
        parse_listing("web2", &listing("20261125101500_61c13bf")),
    ]);
    let lock = locked.then(|| {
        (
            crate::ops::lock::Holder {
                who: "ana@laptop".into(),
                from: "laptop".into(),
                since: "2026-12-01T19:40:00Z".into(),
                what: "Deploy shop v2 (c9e49f8) as release 20261201194500_c9e49f8".into(),
                plan_id: "20261201T194000Z-1a2b3c".into(),
                change: "deploy".into(),
                pid: 4242,
            },
            312,
        )
    });
    crate::console::event::DeployStatus {
        fleet,
        lock,
        lock_error: None,
    }
}

/// A deploy's plan as the console gets it.
pub fn deploy_plan() -> crate::console::event::PlannedChange {
    let steps: Vec<String> = [
        "web1: update the repository mirror",
        "web1: make release 20261202031500_4d2a9e1",
        "web1: build: venv/bin/python manage.py collectstatic --noinput",
        "web2: update the repository mirror",
        "web2: make release 20261202031500_4d2a9e1",
        "web2: build: venv/bin/python manage.py collectstatic --noinput",
        "web1: migrate (once): venv/bin/python manage.py migrate --noinput",
        "web1: switch current to 20261202031500_4d2a9e1",
        "web1: restart (gunicorn USR2, then WINCH+TERM of the old master)",
        "web1: health gate: GET http://10.0.1.11:8000/healthz expects 200 (10 tries)",
        "web2: switch current to 20261202031500_4d2a9e1",
        "web2: restart (gunicorn USR2, then WINCH+TERM of the old master)",
        "web2: health gate: GET http://10.0.1.12:8000/healthz expects 200 (10 tries)",
        "web1: record in revisions.log, keep 5 releases",
        "web2: record in revisions.log, keep 5 releases",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // As Plan::grouped_lines gives it.
    let summary: Vec<String> = [
        "1. web1, web2: update the repository mirror",
        "2. web1, web2: make release 20261202031500_4d2a9e1",
        "3. web1, web2: build: venv/bin/python manage.py collectstatic --noinput",
        "4. web1: migrate (once): venv/bin/python manage.py migrate --noinput",
        "5. web1, web2: switch current to 20261202031500_4d2a9e1",
        "6. web1, web2: restart (gunicorn USR2, then WINCH+TERM of the old master)",
        "7. web1: health gate: GET http://10.0.1.11:8000/healthz expects 200 (10 tries)",
        "8. web2: health gate: GET http://10.0.1.12:8000/healthz expects 200 (10 tries)",
        "9. web1, web2: record in revisions.log, keep 5 releases",
        "! rolling: 1 host(s) at a time; a failed gate puts every switched host back",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    crate::console::event::PlannedChange {
        title: "Deploy shop v3 (4d2a9e1) as release 20261202031500_4d2a9e1".into(),
        summary,
        steps,
        ask_again: None,
    }
}

/// A fleet whose profile scales the shop's gunicorn workers on web1 and web2 and
/// its systemd queue workers on worker hosts, and warms from a sitemap through
/// the cache nodes (role `cache`).
pub fn with_scale(environment: Environment, width: u16, height: u16) -> App {
    let mut p = profile("shop-prod", environment, mixed_hosts());
    let extra: Profile = toml::from_str(
        r#"name = "scale"
[[scale]]
name = "shop"
kind = "gunicorn"
roles = ["app"]
pid_file = "/run/shop/gunicorn.pid"
min = 2
max = 8

[[scale]]
name = "queue"
kind = "systemd"
hosts = ["web1"]
unit = "queue@{instance}.service"
instances = ["1", "2", "3", "4"]
min = 1
max = 4

[warm]
sitemaps = ["https://shop.example.com/sitemap.xml"]
nodes = "cache"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    p.scale = extra.scale;
    p.warm = extra.warm;
    let mut app = populate(App::new(&p, NOW, width, height));
    app.notices.clear();
    app.prepare();
    app
}

/// What the Scale tab reads: web1 at 4 workers, web2 unreadable, the queue on 2.
pub fn scale_status() -> Vec<crate::ops::scale::TargetStatus> {
    use crate::ops::scale::{HostCount, TargetStatus};
    vec![
        TargetStatus {
            name: "shop".into(),
            kind: "gunicorn",
            unit: "workers",
            min: 2,
            max: Some(8),
            hosts: vec![
                HostCount {
                    host: "web1".into(),
                    current: Some(4),
                    detail: "master 4242".into(),
                    error: None,
                },
                HostCount {
                    host: "web2".into(),
                    current: None,
                    detail: String::new(),
                    error: Some("/run/shop/gunicorn.pid: No such file or directory".into()),
                },
            ],
        },
        TargetStatus {
            name: "queue".into(),
            kind: "systemd",
            unit: "instances",
            min: 1,
            max: Some(4),
            hosts: vec![HostCount {
                host: "web1".into(),
                current: Some(2),
                detail: "queue@1.service queue@2.service".into(),
                error: None,
            }],
        },
    ]
}

/// A scale's plan as the console gets it.
pub fn scale_plan() -> crate::console::event::PlannedChange {
    crate::console::event::PlannedChange {
        title: "Scale shop +1 (workers: web1 4 → 5)".into(),
        summary: vec!["1. web1: 4 → 5 workers (TTIN ×1 to master 4242, then count them)".into()],
        steps: vec!["web1: 4 → 5 workers (TTIN ×1 to master 4242, then count them)".into()],
        ask_again: None,
    }
}

/// A warm's plan as the console gets it.
pub fn warm_plan() -> crate::console::event::PlannedChange {
    crate::console::event::PlannedChange {
        title: "warm the caches of shop.example.com".into(),
        summary: vec![
            "1. read sitemap https://shop.example.com/sitemap.xml".into(),
            "2. cache1: GET every URL of shop.example.com with 3 Accept-Encoding variant(s), 8 in flight (at 10.0.0.31:443)".into(),
        ],
        steps: vec![
            "read sitemap https://shop.example.com/sitemap.xml".into(),
            "cache1: GET every URL of shop.example.com with 3 Accept-Encoding variant(s), 8 in flight (at 10.0.0.31:443)".into(),
        ],
        ask_again: None,
    }
}
