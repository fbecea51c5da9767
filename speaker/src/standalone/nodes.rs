//! Nodes: the election's view (labels, `NetworkUnavailable`) and each node's
//! membership address (its first `InternalIP`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;

use super::StandaloneError;
use crate::election::NodeInfo;

/// One Node, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NodeEntry {
    pub info: NodeInfo,
    pub internal_ip: Option<IpAddr>,
}

/// Every Node by name; names must be present and unique, addresses must parse.
pub(super) fn nodes(list: &[Node]) -> Result<BTreeMap<String, NodeEntry>, StandaloneError> {
    let mut out = BTreeMap::new();
    for (i, n) in list.iter().enumerate() {
        let name = n
            .metadata
            .name
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or(StandaloneError::UnnamedNode(i))?;
        let status = n.status.as_ref();
        let network_unavailable = status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True")
        });
        let mut internal_ip = None;
        for (index, a) in status
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if a.type_ != "InternalIP" {
                continue;
            }
            let ip: IpAddr = a
                .address
                .parse()
                .map_err(|_| StandaloneError::BadNodeAddress {
                    node: name.clone(),
                    index,
                    value: a.address.clone(),
                })?;
            internal_ip.get_or_insert(ip);
        }
        let entry = NodeEntry {
            info: NodeInfo {
                name: name.clone(),
                labels: n.metadata.labels.clone().unwrap_or_default(),
                network_unavailable,
                up_interfaces: None,
            },
            internal_ip,
        };
        if out.insert(name.clone(), entry).is_some() {
            return Err(StandaloneError::DuplicateNode(name));
        }
    }
    Ok(out)
}
