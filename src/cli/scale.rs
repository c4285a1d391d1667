//! `opsctl scale TARGET +N|-N|=N` (a change through the change engine) and
//! `opsctl scale status`. Exit status: 0 done, 1 the change failed or was
//! refused (or a host could not be read), 2 usage or profile errors.

use super::deploy::{ChangeArgs, execute};
use super::exit;
use super::table::{Align, Table};
use crate::config::{Profile, secrets};
use crate::ops::scale::{self, Delta, Request, Scale, TargetStatus};

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// A `[[scale]]` target of the profile, or `status`.
    pub target: String,
    /// `+N`, `-N` or `=N`: per host for workers and instances, per load balancer for backends.
    #[arg(allow_hyphen_values = true)]
    pub delta: Option<String>,
    /// Only these hosts of the target (repeatable).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// nginx upstream, with -1: the backend to drain (a host name or ADDRESS:PORT).
    #[arg(long)]
    pub member: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

pub async fn run(profile: &Profile, args: &ScaleArgs) -> anyhow::Result<i32> {
    if args.target == "status" && args.delta.is_none() {
        return status(profile, args.change.json).await;
    }
    let Some(delta) = &args.delta else {
        eprintln!(
            "opsctl scale: say how: `opsctl scale {} +1` (or -1, =4); `opsctl scale status` shows the counts",
            args.target
        );
        return Ok(exit::USAGE);
    };
    let delta: Delta = match delta.parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("opsctl scale: {e}");
            return Ok(exit::USAGE);
        }
    };
    if let Err(e) = scale::hosts::find(profile, &args.target) {
        eprintln!("opsctl scale: {e}");
        return Ok(exit::USAGE);
    }
    let req = Request {
        target: args.target.clone(),
        delta,
        hosts: args.hosts.clone(),
        member: args.member.clone(),
    };
    let mut change = match Scale::plan(profile, &req).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("opsctl scale: {}", secrets::scrub(&e));
            return Ok(exit::PROBLEM);
        }
    };
    execute(profile, &mut change, &args.change, false, "scale").await
}

async fn status(profile: &Profile, json: bool) -> anyhow::Result<i32> {
    if profile.scale.is_empty() {
        eprintln!(
            "opsctl scale: the profile `{}` has no [[scale]] targets; see the README's \"Scale\"",
            profile.name
        );
        return Ok(exit::USAGE);
    }
    let targets = scale::status::read_all(profile).await;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "targets": targets });
        super::emit(
            &mut out,
            &format!("{}\n", serde_json::to_string_pretty(&doc)?),
        )?;
    } else {
        super::emit(&mut out, &status_text(&targets))?;
    }
    let unread = targets
        .iter()
        .any(|t| t.hosts.iter().any(|h| h.error.is_some()));
    Ok(if unread { exit::PROBLEM } else { exit::OK })
}

/// One row per target and host: the count now, the bounds, what is behind it.
pub fn status_text(targets: &[TargetStatus]) -> String {
    let (l, r) = (Align::Left, Align::Right);
    let mut t = Table::new(&[
        ("TARGET", l),
        ("KIND", l),
        ("HOST", l),
        ("NOW", r),
        ("MIN", r),
        ("MAX", r),
        ("DETAIL", l),
    ]);
    for target in targets {
        for h in &target.hosts {
            t.row(vec![
                target.name.clone(),
                target.kind.to_string(),
                h.host.clone(),
                h.current
                    .map_or("?".into(), |c| format!("{c} {}", target.unit)),
                target.min.to_string(),
                target.max.map_or("-".into(), |m| m.to_string()),
                match &h.error {
                    Some(e) => format!("! {e}"),
                    None => h.detail.clone(),
                },
            ]);
        }
    }
    t.render()
}
