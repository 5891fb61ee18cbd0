//! The automatic checks of lync-flow.md §4, each as a finding.
use super::classify::Learned;
use super::rules::RuleSet;
use crate::model::{Analysis, Finding};

pub(crate) fn run(_analysis: &Analysis, _rules: &RuleSet, _learned: &Learned) -> Vec<Finding> {
    Vec::new()
}
