//! Storage: ESSD performance-level sizing and the StorageClasses the presets create.
//!
//! Alibaba Cloud CSI (`pkg/disk/category.go`) allows PL0 from 1 GiB, PL1 from 20 GiB, PL2 from
//! 461 GiB and PL3 from 1,261 GiB, all up to 65,536 GiB. The 2 TiB node disk can be PL1 or PL2
//! (PL3 buys 4 % more IOPS at that size); the 200 GiB disks PL0 or PL1.

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::crd::{PerformanceLevel, StoragePreset, StorageSpec};

pub const ESSD_PROVISIONER: &str = "diskplugin.csi.alibabacloud.com";
pub const EBS_PROVISIONER: &str = "ebs.csi.aws.com";
pub const GCP_PD_PROVISIONER: &str = "pd.csi.storage.gke.io";
const ESSD_MAX_GIB: u64 = 65_536;

/// The smallest disk (GiB) each ESSD performance level accepts.
pub fn essd_min_gib(level: PerformanceLevel) -> u64 {
    match level {
        PerformanceLevel::PL0 => 1,
        PerformanceLevel::PL1 => 20,
        PerformanceLevel::PL2 => 461,
        PerformanceLevel::PL3 => 1_261,
    }
}

/// Levels a disk of `gib` may use, lowest first.
pub fn essd_allowed_levels(gib: u64) -> Vec<PerformanceLevel> {
    [
        PerformanceLevel::PL0,
        PerformanceLevel::PL1,
        PerformanceLevel::PL2,
        PerformanceLevel::PL3,
    ]
    .into_iter()
    .filter(|l| gib >= essd_min_gib(*l) && gib <= ESSD_MAX_GIB)
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EssdError {
    #[error(
        "{field}: ESSD {level} needs at least {min} GiB, the disk is {gib} GiB (allowed: {allowed})"
    )]
    TooSmall {
        field: String,
        level: &'static str,
        min: u64,
        gib: u64,
        allowed: String,
    },
    #[error("{field}: an ESSD disk is at most {ESSD_MAX_GIB} GiB, asked for {gib} GiB")]
    TooLarge { field: String, gib: u64 },
}

/// The performance level for a disk of `gib`: the requested one if the size allows it, else
/// PL1 (ACK's default ESSD class), or PL0 for disks below PL1's 20 GiB minimum.
pub fn essd_level(
    gib: u64,
    requested: Option<PerformanceLevel>,
    field: &str,
) -> Result<PerformanceLevel, EssdError> {
    if gib > ESSD_MAX_GIB {
        return Err(EssdError::TooLarge {
            field: field.into(),
            gib,
        });
    }
    let allowed = essd_allowed_levels(gib);
    match requested {
        Some(level) if allowed.contains(&level) => Ok(level),
        Some(level) => Err(EssdError::TooSmall {
            field: field.into(),
            level: level.as_str(),
            min: essd_min_gib(level),
            gib,
            allowed: allowed
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        None if gib >= essd_min_gib(PerformanceLevel::PL1) => Ok(PerformanceLevel::PL1),
        None => Ok(PerformanceLevel::PL0),
    }
}

/// Which operator-made class a disk uses: the name plus what distinguishes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClassChoice {
    /// The user's own class (`storage.className`).
    Existing(String),
    /// The cluster's default class.
    ClusterDefault,
    Essd(PerformanceLevel),
    AwsGp3 {
        fast: bool,
    },
    AwsIo2,
    GcpPdSsd,
}

impl ClassChoice {
    /// StorageClass name to put in the volumeClaimTemplate, if any.
    pub fn class_name(&self, storage: &StorageSpec) -> Option<String> {
        let enc = if storage.encrypted { "-encrypted" } else { "" };
        match self {
            Self::Existing(name) => Some(name.clone()),
            Self::ClusterDefault => None,
            Self::Essd(level) => Some(format!("venus-essd-{}{enc}", level.as_str().to_lowercase())),
            Self::AwsGp3 { fast: true } => Some(format!("venus-gp3-fast{enc}")),
            Self::AwsGp3 { fast: false } => Some(format!("venus-gp3{enc}")),
            Self::AwsIo2 => Some(format!("venus-io2{enc}")),
            Self::GcpPdSsd => Some("venus-pd-ssd".into()),
        }
    }

    /// The StorageClass object the operator must create, or None for user/default classes.
    pub fn storage_class(&self, storage: &StorageSpec) -> Option<StorageClass> {
        let name = self.class_name(storage)?;
        let mut params = BTreeMap::new();
        params.insert("csi.storage.k8s.io/fstype".to_string(), "ext4".to_string());
        let provisioner = match self {
            Self::Existing(_) | Self::ClusterDefault => return None,
            Self::Essd(level) => {
                params.insert("type".into(), "cloud_essd".into());
                params.insert("performanceLevel".into(), level.as_str().into());
                if storage.encrypted {
                    params.insert("encrypted".into(), "true".into());
                }
                ESSD_PROVISIONER
            }
            Self::AwsGp3 { fast } => {
                params.insert("type".into(), "gp3".into());
                if *fast {
                    // gp3's maximum before the 2025 limits: what a 2 TiB chain disk needs.
                    params.insert("iops".into(), "16000".into());
                    params.insert("throughput".into(), "1000".into());
                }
                if storage.encrypted {
                    params.insert("encrypted".into(), "true".into());
                }
                EBS_PROVISIONER
            }
            Self::AwsIo2 => {
                params.insert("type".into(), "io2".into());
                params.insert("iopsPerGB".into(), "50".into());
                params.insert("allowAutoIOPSPerGBIncrease".into(), "true".into());
                if storage.encrypted {
                    params.insert("encrypted".into(), "true".into());
                }
                EBS_PROVISIONER
            }
            Self::GcpPdSsd => {
                params.insert("type".into(), "pd-ssd".into());
                GCP_PD_PROVISIONER
            }
        };
        let mut labels = BTreeMap::new();
        labels.insert(
            crate::keys::label::MANAGED_BY.into(),
            crate::keys::MANAGER.into(),
        );
        labels.insert(
            crate::keys::label::PART_OF.into(),
            crate::keys::label::PART_OF_VALUE.into(),
        );
        Some(StorageClass {
            metadata: ObjectMeta {
                name: Some(name),
                labels: Some(labels),
                ..Default::default()
            },
            provisioner: provisioner.into(),
            parameters: Some(params),
            // A deleted claim must never take 2 TiB of synced chain with it.
            reclaim_policy: Some("Retain".into()),
            allow_volume_expansion: Some(true),
            // Disks attach only in their own zone: create them where the pod lands.
            volume_binding_mode: Some("WaitForFirstConsumer".into()),
            ..Default::default()
        })
    }
}

/// Choose the class of one component's disk of `gib`.
pub fn choose_class(
    storage: &StorageSpec,
    gib: u64,
    requested_level: Option<PerformanceLevel>,
    is_chain_disk: bool,
    field: &str,
) -> Result<ClassChoice, EssdError> {
    if let Some(name) = &storage.class_name {
        return Ok(ClassChoice::Existing(name.clone()));
    }
    Ok(match storage.preset {
        None => ClassChoice::ClusterDefault,
        Some(StoragePreset::AlicloudEssd) => {
            ClassChoice::Essd(essd_level(gib, requested_level, field)?)
        }
        Some(StoragePreset::AwsGp3) => ClassChoice::AwsGp3 {
            fast: is_chain_disk,
        },
        Some(StoragePreset::AwsIo2) => ClassChoice::AwsIo2,
        Some(StoragePreset::GcpPdSsd) => ClassChoice::GcpPdSsd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PerformanceLevel::*;

    #[test]
    fn node_disk_of_2tib_may_be_pl1_or_pl2_and_defaults_to_pl1() {
        assert_eq!(essd_level(2048, None, "f"), Ok(PL1));
        assert_eq!(essd_level(2048, Some(PL2), "f"), Ok(PL2));
        assert_eq!(essd_allowed_levels(2048), vec![PL0, PL1, PL2, PL3]);
    }

    #[test]
    fn disk_of_200gib_allows_only_pl0_and_pl1() {
        assert_eq!(essd_allowed_levels(200), vec![PL0, PL1]);
        assert_eq!(essd_level(200, Some(PL0), "f"), Ok(PL0));
        let err = essd_level(200, Some(PL2), "spec.miner.storage.performanceLevel")
            .expect_err("PL2 is refused at 200 GiB");
        let text = err.to_string();
        assert!(
            text.contains("spec.miner.storage.performanceLevel"),
            "{text}"
        );
        assert!(text.contains("461 GiB"), "{text}");
        assert!(text.contains("PL0, PL1"), "{text}");
    }

    #[test]
    fn boundaries_match_the_csi_driver() {
        assert!(essd_level(460, Some(PL2), "f").is_err());
        assert_eq!(essd_level(461, Some(PL2), "f"), Ok(PL2));
        assert!(essd_level(1260, Some(PL3), "f").is_err());
        assert_eq!(essd_level(1261, Some(PL3), "f"), Ok(PL3));
        assert_eq!(essd_level(19, None, "f"), Ok(PL0));
        assert_eq!(essd_level(20, None, "f"), Ok(PL1));
        assert!(matches!(
            essd_level(65_537, None, "f"),
            Err(EssdError::TooLarge { .. })
        ));
    }

    #[test]
    fn essd_class_has_the_driver_parameters() {
        let storage = StorageSpec {
            preset: Some(StoragePreset::AlicloudEssd),
            ..Default::default()
        };
        let class = ClassChoice::Essd(PL2)
            .storage_class(&storage)
            .expect("operator class");
        assert_eq!(class.metadata.name.as_deref(), Some("venus-essd-pl2"));
        assert_eq!(class.provisioner, ESSD_PROVISIONER);
        let params = class.parameters.expect("parameters");
        assert_eq!(params["type"], "cloud_essd");
        assert_eq!(params["performanceLevel"], "PL2");
        assert_eq!(class.reclaim_policy.as_deref(), Some("Retain"));
        assert_eq!(class.allow_volume_expansion, Some(true));
        assert_eq!(
            class.volume_binding_mode.as_deref(),
            Some("WaitForFirstConsumer")
        );
    }

    #[test]
    fn existing_class_wins_and_creates_nothing() {
        let storage = StorageSpec {
            class_name: Some("fast".into()),
            ..Default::default()
        };
        let choice = choose_class(&storage, 2048, Some(PL3), true, "f").expect("no sizing");
        assert_eq!(choice, ClassChoice::Existing("fast".into()));
        assert!(choice.storage_class(&storage).is_none());
    }
}
