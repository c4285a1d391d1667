//! `opsctl console` (and `opsctl` alone): the interactive console. (Placeholder.)

use crate::config::Profile;

#[derive(Debug, Default, clap::Args)]
pub struct ConsoleArgs {}

pub fn run(_profile: Profile, _args: &ConsoleArgs) -> anyhow::Result<i32> {
    anyhow::bail!("the console is not built yet")
}
