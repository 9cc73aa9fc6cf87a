//! Topics (departments) a request is narrowed to.

/// Whether a document of `department` belongs to a request for `topics`.
/// No topics asked means every department; a document whose department is
/// unknown is kept (the caseworker sees it rather than the citizen losing
/// it). Compared without regard to case ("børn og unge" is "Børn og Unge").
pub fn in_topics(topics: &[String], department: &str) -> bool {
    let department = department.trim();
    topics.is_empty()
        || department.is_empty()
        || topics
            .iter()
            .any(|t| t.trim().to_lowercase() == department.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_match_departments_without_regard_to_case() {
        let t = vec!["Børn og Unge".to_string()];
        assert!(in_topics(&t, "BØRN OG UNGE"));
        assert!(in_topics(&t, " børn og unge "));
        assert!(!in_topics(&t, "Jobcenter"));
        assert!(in_topics(&t, ""), "unknown department: kept");
        assert!(in_topics(&[], "Jobcenter"), "no topics: everything");
    }
}
