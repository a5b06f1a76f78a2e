//! The complexity limit against the expensive fields: alias floods are refused before
//! anything runs, while the web app's queries (copied from `frontend/*.js`) pass.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{Response, Value};

use super::schema_builder;

/// Stops every request after validation, so queries are checked without any state.
struct ValidateOnly;

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_trait::async_trait]
impl Extension for ValidateOnly {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::new(Value::Null)
    }
}

/// The validation errors of `query`, empty when it would run.
async fn refusals(query: &str) -> Vec<String> {
    let schema = schema_builder().extension(ValidateOnly).finish();
    let response = schema.execute(query).await;
    response.errors.into_iter().map(|e| e.message).collect()
}

fn aliases(n: usize, field: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn alias_floods_of_expensive_fields_are_too_complex() {
    let floods = [
        aliases(
            500,
            "verifyLedger { ok entriesChecked firstBadSeq problems }",
        ),
        aliases(10, "verifyLedger { ok }"),
        aliases(50, "cohort(criteria: \"age >= 18\") { count display }"),
        aliases(50, "auditTrail(trialId: \"t\") { events { seq } }"),
        aliases(100, "inclusionProof(seq: 0, treeSize: 1) { hashes }"),
        aliases(100, "matchingTrials(pseudonym: \"p\") { score }"),
        aliases(
            10,
            "ledgerEntries(first: 1000) { seq kind payloadHash leafHash }",
        ),
    ];
    for query in floods {
        let errors = refusals(&query).await;
        assert!(
            errors.iter().any(|e| e.contains("too complex")),
            "{query:.60}…: {errors:?}"
        );
    }
}

#[tokio::test]
async fn the_web_apps_queries_pass() {
    let cohort = "criteria count suppressed display
        funnel { clause remaining suppressed display }
        sites { siteName count suppressed display }";
    let versions = "version ledgerSeq hash reason flags createdAt changes { field before after }
        title summary phase primaryEndpoint secondaryEndpoints targetEnrollment criteria
        eligibilityText siteIds ethicsBoardId conditions keywords";
    let queries = [
        "{ verifyLedger { ok entriesChecked firstBadSeq problems } }".to_string(),
        "{ ledgerHead { checkpoint publicKey size rootHash timestamp } }".to_string(),
        format!("query($c: String!) {{ cohort(criteria: $c) {{ {cohort} }} }}"),
        format!("query($id: ID!) {{ cohort(trialId: $id) {{ {cohort} }} }}"),
        "query($id: ID!) { auditTrail(trialId: $id) {
          trial { title status versions { version ledgerSeq hash reason flags createdAt
            changes { field before after } title phase primaryEndpoint secondaryEndpoints
            targetEnrollment criteria eligibilityText } }
          events { seq kind timestamp actorUser actorOrg subjects { key value } payloadHash } } }"
            .to_string(),
        format!(
            "query($id: ID!) {{ trial(id: $id) {{ id title status currentVersion versions {{ {versions} }} }} }}"
        ),
        "{ trials { id title status nctId currentVersion versions { targetEnrollment } } }"
            .to_string(),
        "{ ledgerEntries(first: 1000) { seq kind timestamp actorUser actorOrg
            subjects { key value } payloadHash prevHash leafHash } }"
            .to_string(),
    ];
    for query in queries {
        let errors = refusals(&query).await;
        assert!(errors.is_empty(), "{query:.60}…: {errors:?}");
    }
}
