//! Breaking a deploy lock someone left behind: a change like any other, planned
//! (it names the holder it removes), confirmed and audited.

use async_trait::async_trait;

use super::engine::{Applied, Change, ChangeError, Progress, StepState};
use super::lock::{Holder, LockSpec, age_words};
use super::plan::{Plan, Step};
use crate::config::Environment;

pub struct LockBreak {
    plan: Plan,
    lock: LockSpec,
}

impl LockBreak {
    pub fn plan(
        lock: LockSpec,
        holder: &Holder,
        age_secs: i64,
        profile: &str,
        environment: Environment,
    ) -> LockBreak {
        let plan = Plan::new(
            "lock.break",
            format!("{}:{}", lock.host, lock.dir()),
            format!(
                "Break the deploy lock held by {} for {} ({})",
                holder.who,
                age_words(age_secs),
                holder.what
            ),
            profile,
            environment,
        )
        .step(Step::remote(
            &lock.host,
            format!("remove {}", lock.dir()),
            &lock.break_command(),
        ));
        LockBreak { plan, lock }
    }
}

#[async_trait]
impl Change for LockBreak {
    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn host_logs(&self) -> Vec<crate::ops::audit::HostLog> {
        vec![crate::ops::audit::HostLog {
            host: self.lock.host.clone(),
            remote: self.lock.remote.clone(),
            app_path: self.lock.app_path.clone(),
        }]
    }

    async fn run(&mut self, progress: &mut dyn Progress) -> Result<Applied, ChangeError> {
        let step = &self.plan.steps[0];
        progress.step(0, step, StepState::Started);
        let out = self
            .lock
            .remote
            .run(&self.lock.break_command())
            .await
            .map_err(|e| ChangeError::failed(format!("{}: {e}", self.lock.host)))?;
        if !out.success() {
            let why = out.stderr_lossy().trim().to_string();
            progress.step(0, step, StepState::Failed(why.clone()));
            return Err(ChangeError::failed(format!("{}: {why}", self.lock.host)));
        }
        progress.step(0, step, StepState::Done);
        Ok(Applied::ok(format!(
            "the lock on {} is broken",
            self.lock.host
        )))
    }
}
