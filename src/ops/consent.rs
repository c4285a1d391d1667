//! Who may change what, decided in one place for every face: read-only profiles
//! refuse every change; production needs its environment's name typed (the
//! console's dialog, or `--confirm production` for scripts); staging a yes
//! (`--yes`, or the dialog); development nothing.

use crate::config::Environment;

/// What the person (or script) asking for the change has said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consent {
    /// `--yes`.
    pub yes: bool,
    /// `--confirm NAME`, or the name typed in the console's dialog.
    pub typed: Option<String>,
    /// The plan's warning was confirmed a second time (`--cross-migrations`, the
    /// console's second dialog): production asks again for a rollback that
    /// crosses a database migration.
    pub again: bool,
}

impl Consent {
    pub fn yes() -> Consent {
        Consent {
            yes: true,
            typed: None,
            again: false,
        }
    }

    pub fn typed(name: impl Into<String>) -> Consent {
        Consent {
            yes: true,
            typed: Some(name.into()),
            again: false,
        }
    }
}

/// Why a change was not run. Each says what would let it run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("refused: the profile `{profile}` is read-only (read_only = true)")]
    ReadOnly { profile: String },
    #[error("refused: {environment} needs its name typed to confirm; pass --confirm {environment}")]
    NeedsTypedName { environment: String },
    #[error("refused: `{typed}` is not the environment's name; type {environment} to confirm")]
    WrongName { typed: String, environment: String },
    #[error("refused: a change in {environment} needs a yes; pass --yes")]
    NeedsYes { environment: String },
    #[error("refused: {why}; in {environment} this needs confirming again ({how})")]
    NeedsAgain {
        why: String,
        how: String,
        environment: String,
    },
    /// Another change holds the lock (the message names its holder and age).
    #[error("refused: {0}")]
    Locked(String),
    #[error("refused: {0}")]
    Other(String),
}

/// The one choke point: may this change run in `environment` of `profile`?
pub fn check(
    profile: &str,
    read_only: bool,
    environment: Environment,
    consent: &Consent,
) -> Result<(), Refusal> {
    if read_only {
        return Err(Refusal::ReadOnly {
            profile: profile.to_string(),
        });
    }
    let env = environment.as_str().to_string();
    match environment {
        Environment::Production => match &consent.typed {
            None => Err(Refusal::NeedsTypedName { environment: env }),
            Some(t) if t != &env => Err(Refusal::WrongName {
                typed: t.clone(),
                environment: env,
            }),
            Some(_) => Ok(()),
        },
        Environment::Staging if !consent.yes && consent.typed.is_none() => {
            Err(Refusal::NeedsYes { environment: env })
        }
        Environment::Staging | Environment::Development => Ok(()),
    }
}

/// What a plan asks to be confirmed a second time in production.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AskAgain {
    pub why: String,
    /// The flag that says it on the command line.
    pub flag: String,
}

/// The second confirmation: production only, and only for plans that ask it.
pub fn check_again(
    environment: Environment,
    ask: Option<&AskAgain>,
    consent: &Consent,
) -> Result<(), Refusal> {
    match ask {
        Some(a) if environment == Environment::Production && !consent.again => {
            Err(Refusal::NeedsAgain {
                why: a.why.clone(),
                how: a.flag.clone(),
                environment: environment.as_str().to_string(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_asks_again_when_the_plan_says_so() {
        let ask = AskAgain {
            why: "the rollback crosses a migration".into(),
            flag: "--cross-migrations".into(),
        };
        let p = Environment::Production;
        let typed = Consent::typed("production");
        let e = check_again(p, Some(&ask), &typed).unwrap_err();
        assert!(e.to_string().contains("--cross-migrations"), "{e}");
        let again = Consent {
            again: true,
            ..typed.clone()
        };
        assert_eq!(check_again(p, Some(&ask), &again), Ok(()));
        assert_eq!(check_again(p, None, &typed), Ok(()));
        assert_eq!(
            check_again(Environment::Staging, Some(&ask), &Consent::yes()),
            Ok(())
        );
    }

    #[test]
    fn read_only_refuses_whatever_was_said() {
        let e = check(
            "prod",
            true,
            Environment::Development,
            &Consent::typed("development"),
        );
        assert!(matches!(e, Err(Refusal::ReadOnly { .. })), "{e:?}");
    }

    #[test]
    fn production_needs_the_name_typed() {
        let p = Environment::Production;
        assert!(matches!(
            check("p", false, p, &Consent::default()),
            Err(Refusal::NeedsTypedName { .. })
        ));
        assert!(matches!(
            check("p", false, p, &Consent::yes()),
            Err(Refusal::NeedsTypedName { .. })
        ));
        let e = check("p", false, p, &Consent::typed("prod")).unwrap_err();
        assert!(e.to_string().contains("type production"), "{e}");
        assert_eq!(check("p", false, p, &Consent::typed("production")), Ok(()));
    }

    #[test]
    fn staging_needs_a_yes_and_development_nothing() {
        let s = Environment::Staging;
        assert!(matches!(
            check("s", false, s, &Consent::default()),
            Err(Refusal::NeedsYes { .. })
        ));
        assert_eq!(check("s", false, s, &Consent::yes()), Ok(()));
        assert_eq!(
            check("d", false, Environment::Development, &Consent::default()),
            Ok(())
        );
    }
}
