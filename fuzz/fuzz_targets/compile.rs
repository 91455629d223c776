//! The whole compiler on arbitrary bytes: load -> schema -> model -> semantic checks -> lower ->
//! reference check -> emit. Any panic is a bug: bad input must end in diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Bytes that are not UTF-8 are refused by `SourceFile::read` before parsing; the parser is
    // only ever given text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    nbsynth_fuzz_check(text);
});

fn nbsynth_fuzz_check(text: &str) {
    use nbsynth::blueprint;
    use nbsynth::cfn::{self, emit::Format};
    use nbsynth::source::SourceFile;

    // A path inside a directory that does not exist: extra scripts named by the input are
    // looked up there and are never found, so the run reads nothing from disk.
    let file = SourceFile::from_text("/nonexistent-nbsynth-fuzz/blueprint.yaml", text);
    let rule_ids = nbsynth::policy::rule_ids();
    let loaded = match blueprint::load_source(file, &rule_ids) {
        Ok(loaded) => loaded,
        Err(invalid) => {
            // What the user sees must render too: spans inside the text, JSON for tools.
            let mut out = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
            nbsynth::source::diagnostic::render(
                &mut out,
                invalid.file.as_ref(),
                &invalid.diagnostics,
            )
            .expect("diagnostics render");
            for d in &invalid.diagnostics {
                let _ = nbsynth::source::diagnostic::to_json(invalid.file.as_ref(), d);
            }
            return;
        }
    };
    let Ok(lowered) = nbsynth::lower::lower(&loaded, Default::default()) else {
        return;
    };
    let json = lowered.template.to_json();
    let dangling = cfn::refs::check(&json);
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
    // The emitted YAML must read back as the same template (quoting, block scalars, tags).
    let yaml = cfn::emit::to_text(&json, Format::Yaml);
    let back = nbsynth::source::yaml::load(
        &SourceFile::from_text("template.yaml", yaml.as_str()),
        nbsynth::source::TagMode::CloudFormation,
    )
    .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e:?}\n{yaml}"));
    assert_eq!(back.value, json, "emitted YAML reads back differently");
    let _ = cfn::emit::to_text(&json, Format::Json);
}
