//! Notebook references that must be names, not ARNs: `Ref` of a lifecycle config or a code
//! repository returns its ARN, and the notebook then fails to deploy (cfn-lint does not catch it).

use serde_json::Value;

use super::target;
use crate::policy::Ctx;

const NOTEBOOK: &str = "AWS::SageMaker::NotebookInstance";

/// NOTEBOOK_LIFECYCLE_BY_NAME
pub fn lifecycle_by_name(ctx: &mut Ctx) {
    by_name(
        ctx,
        &["LifecycleConfigName"],
        "AWS::SageMaker::NotebookInstanceLifecycleConfig",
        "NotebookInstanceLifecycleConfigName",
    );
}

/// NOTEBOOK_CODE_REPOSITORY_BY_NAME
pub fn code_repository_by_name(ctx: &mut Ctx) {
    by_name(
        ctx,
        &["DefaultCodeRepository", "AdditionalCodeRepositories"],
        "AWS::SageMaker::CodeRepository",
        "CodeRepositoryName",
    );
}

fn by_name(ctx: &mut Ctx, properties: &[&str], target_type: &str, name_attribute: &str) {
    let notebooks: Vec<(&str, &Value)> = ctx.of_type(NOTEBOOK).collect();
    for (id, nb) in notebooks {
        let mut values: Vec<(String, &Value)> = Vec::new();
        for p in properties {
            match nb.get("Properties").and_then(|ps| ps.get(*p)) {
                Some(Value::Array(a)) => values.extend(
                    a.iter()
                        .enumerate()
                        .map(|(i, v)| (format!("Properties/{p}/{i}"), v)),
                ),
                Some(v) => values.push((format!("Properties/{p}"), v)),
                None => {}
            }
        }
        if values.is_empty() {
            ctx.not_applicable(id);
            continue;
        }
        for (pointer, v) in values {
            let Some((x, attr)) = target(v) else { continue };
            if ctx.type_of(x) != Some(target_type) || attr == Some(name_attribute) {
                continue;
            }
            let how = match attr {
                None => "`Ref` of it returns its ARN".to_string(),
                Some(a) => format!("attribute `{a}` is not its name"),
            };
            ctx.fail(
                Some(id),
                &pointer,
                format!("{pointer} refers to {target_type} `{x}`, but {how}; use !GetAtt {x}.{name_attribute}"),
            );
        }
    }
}
