//! nbsynth: load -> validate -> lower -> review -> emit.
//!
//! - [`source`]: files, YAML with positions, diagnostics
//! - [`blueprint`]: the blueprint model, its schema and semantic checks
//! - [`lower`]: blueprint -> CloudFormation resources, one module per resource family
//! - [`scripts`]: the lifecycle scripts
//! - [`cfn`]: the CloudFormation model, references, emitters
//! - [`policy`]: resource schemas and rules
//! - [`diagram`]: the network diagram (Mermaid, DOT)
//! - [`plan`]: what a blueprint change does to a deployed stack
//! - [`cli`]: the subcommands

pub mod blueprint;
pub mod cfn;
pub mod cli;
pub mod diagram;
pub mod guardrails;
pub mod lower;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod scripts;
pub mod source;
pub mod split;
