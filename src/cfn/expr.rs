//! Intrinsic functions and pseudo parameters as typed constructors. Lowering never writes
//! `{"Ref": ...}` by hand: a reference names a [`LogicalId`] that lowering got back from
//! [`super::Template::add`], and [`super::refs::check`] verifies every one at the end.

use serde_json::{Value, json};

use super::LogicalId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    AccountId,
    Partition,
    Region,
    StackName,
    UrlSuffix,
}

impl Pseudo {
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    pub fn r#ref(self) -> Value {
        json!({ "Ref": self.name() })
    }
}

pub fn r#ref(id: &LogicalId) -> Value {
    json!({ "Ref": id.as_str() })
}

pub fn get_att(id: &LogicalId, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id.as_str(), attribute] })
}

/// `Fn::Sub` with the template's own names (`${AWS::Region}`, `${Vpc}`); checked by `refs`.
pub fn sub(text: impl Into<String>) -> Value {
    json!({ "Fn::Sub": text.into() })
}

pub fn base64(v: Value) -> Value {
    json!({ "Fn::Base64": v })
}

pub fn join(separator: &str, items: Vec<Value>) -> Value {
    json!({ "Fn::Join": [separator, items] })
}

pub fn select(index: usize, list: Value) -> Value {
    json!({ "Fn::Select": [index.to_string(), list] })
}

/// The availability zones of the stack's region.
pub fn get_azs() -> Value {
    json!({ "Fn::GetAZs": "" })
}
