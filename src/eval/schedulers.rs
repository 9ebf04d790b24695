//! The schedulers a command names: `all`, `ablation`, `batching` or a comma-separated list, each built
//! by `sched::by_name`.

use crate::error::{Error, Result};
use crate::sched::{self, CdMsa, CdMsaOptions, Policy};

/// Fresh schedulers named by `spec` (`all`, `ablation`, `batching` (every scheduler with
/// continuous batching of decode steps), or a comma-separated list of names); `cd-msa` has the mechanisms `options` switches on.
pub fn policies(spec: &str, options: CdMsaOptions) -> Result<Vec<Box<dyn Policy>>> {
    let names: Vec<&str> = match spec {
        "all" => sched::ALL.to_vec(),
        "ablation" => sched::ABLATION.to_vec(),
        "batching" => sched::BATCHING.to_vec(),
        list => list.split(',').map(str::trim).collect(),
    };
    names
        .into_iter()
        .map(|n| match n {
            "all" | "ablation" | "batching" => Err(Error::Config {
                field: "scheduler".into(),
                msg: format!(
                    "'{n}' stands for a set of schedulers and must be given alone, not in the list '{spec}'"
                ),
            }),
            "cd-msa" => Ok(Box::new(CdMsa::new(options)) as Box<dyn Policy>),
            n => sched::by_name(n),
        })
        .collect()
}

/// The names of the schedulers `spec` names (see [`policies`]), each accepted by
/// `sched::by_name`.
pub fn scheduler_names(spec: &str) -> Result<Vec<String>> {
    Ok(policies(spec, CdMsaOptions::default())?
        .iter()
        .map(|p| p.name().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_expand_to_the_listed_names_and_only_stand_alone() {
        assert_eq!(
            scheduler_names("all").unwrap(),
            [
                "fcfs", "prema", "planaria", "edf", "llf", "static", "cd-msa"
            ]
        );
        assert_eq!(
            scheduler_names(" edf , cd-msa-nocoop").unwrap(),
            ["edf", "cd-msa-nocoop"]
        );
        let err = scheduler_names("edf,all").unwrap_err().to_string();
        assert!(err.contains("must be given alone"), "{err}");
        assert!(scheduler_names("edf,nope").is_err());
        let off = CdMsaOptions {
            fusion: false,
            ..CdMsaOptions::default()
        };
        assert_eq!(
            policies("cd-msa", off).unwrap()[0].name(),
            "cd-msa-nofusion"
        );
    }
}
