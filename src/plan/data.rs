//! The one table of resource types that hold data, and what losing one means. Everything in
//! `plan` that speaks of data loss, and the protection `build` adds (DeletionPolicy,
//! UpdateReplacePolicy, the stack policy), reads this table, so a type added here (or a
//! Studio resource the compiler starts to emit) is covered everywhere at once.

/// A data-holding type.
pub struct Holder {
    pub resource_type: &'static str,
    /// What is gone (or detached) when the resource is deleted or replaced.
    pub loses: &'static str,
    /// Whether `DeletionPolicy: Retain` keeps the data reachable the same way as before. A
    /// retained KMS key still decrypts and a retained bucket keeps its objects under its name;
    /// a retained notebook or Studio profile keeps its volume, but detached from the stack, its
    /// owner's role and access: the user starts empty, so that still counts as loss.
    pub retained_is_safe: bool,
    /// Users of the resource lose their running sessions when it is replaced or removed.
    pub sessions: bool,
}

pub const HOLDERS: &[Holder] = &[
    Holder {
        resource_type: "AWS::EFS::FileSystem",
        loses: "every file on the file system",
        retained_is_safe: true,
        sessions: false,
    },
    Holder {
        resource_type: "AWS::KMS::Key",
        loses: "everything encrypted with the key (notebook volumes, Studio homes): removal schedules the key's deletion after its pending window (7-30 days), after which that data cannot be decrypted",
        retained_is_safe: true,
        sessions: false,
    },
    Holder {
        resource_type: "AWS::S3::Bucket",
        loses: "the objects in the bucket (CloudFormation cannot delete a bucket that is not empty, so the update fails instead)",
        retained_is_safe: true,
        sessions: false,
    },
    Holder {
        resource_type: "AWS::SageMaker::Domain",
        loses: "every user's home directory: the domain's home EFS is detached (SageMaker keeps and bills it) and a new domain starts with an empty one; every user profile and space of the domain goes with it",
        retained_is_safe: false,
        sessions: true,
    },
    Holder {
        resource_type: "AWS::SageMaker::NotebookInstance",
        loses: "the ML storage volume (/home/ec2-user/SageMaker): all of the owner's work on the instance",
        retained_is_safe: false,
        sessions: true,
    },
    Holder {
        resource_type: "AWS::SageMaker::Space",
        loses: "the space's EBS home volume",
        retained_is_safe: false,
        sessions: true,
    },
    Holder {
        resource_type: "AWS::SageMaker::UserProfile",
        loses: "the user's home directory on the domain's EFS: it stays on the file system, but a new profile gets a new home and the old one is stranded",
        retained_is_safe: false,
        sessions: true,
    },
];

pub fn holder(resource_type: &str) -> Option<&'static Holder> {
    HOLDERS.iter().find(|h| h.resource_type == resource_type)
}

/// Properties whose in-place change keeps the data but cuts its owner off from it: the POSIX
/// identity that owns the files of a Studio home directory. CloudFormation updates it without
/// replacement; the files written under the old uid/gid are then not the user's any more.
pub fn orphans_files(resource_type: &str, path: &[String]) -> bool {
    let studio = matches!(
        resource_type,
        "AWS::SageMaker::Domain" | "AWS::SageMaker::UserProfile" | "AWS::SageMaker::Space"
    );
    studio && path.iter().any(|p| p == "CustomPosixUserConfig")
}

/// Whether an in-place update of this type stops what its users run. SageMaker updates a
/// notebook instance only while it is stopped, so CloudFormation stops and restarts it for
/// anything but tags.
pub fn update_interrupts(resource_type: &str, path: &[String]) -> bool {
    resource_type == "AWS::SageMaker::NotebookInstance" && path.first().is_some_and(|p| p != "Tags")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_names_real_types() {
        assert!(
            HOLDERS
                .windows(2)
                .all(|w| w[0].resource_type < w[1].resource_type)
        );
        for h in HOLDERS {
            assert!(h.resource_type.starts_with("AWS::"), "{}", h.resource_type);
        }
    }

    #[test]
    fn tags_alone_do_not_restart_a_notebook() {
        let nb = "AWS::SageMaker::NotebookInstance";
        assert!(!update_interrupts(nb, &["Tags".into()]));
        assert!(update_interrupts(nb, &["InstanceType".into()]));
        assert!(!update_interrupts(
            "AWS::SageMaker::Domain",
            &["DefaultUserSettings".into()]
        ));
    }
}
