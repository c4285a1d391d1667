//! `opsctl digest`: slow-query log digest. (Placeholder until the digest engine lands.)

#[derive(Debug, clap::Args)]
pub struct DigestArgs {
    /// Slow-query logs to read (`-` for stdin, `.gz` transparently).
    pub files: Vec<String>,
}

pub fn run(_args: &DigestArgs) -> anyhow::Result<i32> {
    anyhow::bail!("opsctl digest is not built yet")
}
