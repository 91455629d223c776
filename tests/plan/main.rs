//! `nbsynth plan`: scenario pairs with their exact JSON, the forms a deployed template comes
//! in, hand-written change sets, Studio template pairs, and what `build` writes against data
//! loss. `UPDATE_PLAN_SNAPSHOTS=1 cargo test --test plan` rewrites the scenarios' expected
//! JSON (review the diff as a change of behaviour).

#[path = "../common/mod.rs"]
mod common;

mod changesets;
mod cli;
mod scenarios;
mod split;
mod studio;
