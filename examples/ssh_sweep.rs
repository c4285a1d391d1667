//! Benchmark helper: runs one shell command on every host of a profile in parallel
//! through `SshRemote`, first including the connection, then on reused connections.
//!
//! cargo run --release --example ssh_sweep -- [PROFILE.toml] [COMMAND] [STEADY_SWEEPS]
//! (defaults: target/sandbox/sandbox.toml, `uptime`, 10). Prints one line per sweep:
//! `first <seconds> <ok>/<hosts>` then `steady <seconds> <ok>/<hosts>`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use opsctl::config::Profile;
use opsctl::remote::ssh::SshRemote;
use opsctl::remote::{Command, Remote, SshTarget};

fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn targets(profile: &Profile) -> Vec<SshTarget> {
    let user = profile
        .ssh
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".to_string());
    let known: Vec<PathBuf> = profile
        .ssh
        .known_hosts_files
        .iter()
        .map(|f| expand(f))
        .collect();
    profile
        .hosts
        .iter()
        .map(|h| {
            let address = h.address.clone().unwrap_or_else(|| h.name.clone());
            SshTarget {
                label: h.name.clone(),
                hostname: address.clone(),
                port: h.port.unwrap_or(22),
                user: h.user.clone().unwrap_or_else(|| user.clone()),
                identity_files: profile
                    .ssh
                    .identity_files
                    .iter()
                    .map(|f| expand(f))
                    .collect(),
                identities_only: true,
                known_hosts_name: address,
                known_hosts_files: known.clone(),
                learn_file: known.first().cloned().unwrap_or_default(),
                policy: profile.ssh.known_hosts,
                jump: None,
                proxy_command: None,
                connect_timeout: Duration::from_secs_f64(profile.ssh.connect_timeout_secs),
                keepalive: Duration::from_secs_f64(profile.ssh.keepalive_secs),
            }
        })
        .collect()
}

async fn sweep(remotes: &[SshRemote], cmd: &Command) -> (Duration, usize) {
    let started = Instant::now();
    let results = futures::future::join_all(remotes.iter().map(|r| r.run(cmd))).await;
    let elapsed = started.elapsed();
    let mut ok = 0;
    for (r, result) in remotes.iter().zip(results) {
        match result {
            Ok(out) if out.success() => ok += 1,
            Ok(out) => eprintln!(
                "{}: exit {:?}: {}",
                r.name(),
                out.status,
                out.stderr_lossy()
            ),
            Err(e) => eprintln!("{}: {e}", r.name()),
        }
    }
    (elapsed, ok)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "target/sandbox/sandbox.toml".to_string());
    let script = args.next().unwrap_or_else(|| "uptime".to_string());
    let steady: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let profile: Profile = toml::from_str(&std::fs::read_to_string(&path)?)?;
    let remotes: Vec<SshRemote> = targets(&profile).into_iter().map(SshRemote::new).collect();
    let cmd = Command::shell_script(&script).timeout(Duration::from_secs(30));
    let n = remotes.len();

    let (t, ok) = sweep(&remotes, &cmd).await;
    println!("first {:.4} {ok}/{n}", t.as_secs_f64());
    for _ in 0..steady {
        let (t, ok) = sweep(&remotes, &cmd).await;
        println!("steady {:.4} {ok}/{n}", t.as_secs_f64());
    }
    Ok(())
}
