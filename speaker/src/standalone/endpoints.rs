//! Endpoints from EndpointSlices, matched to Services by the
//! `kubernetes.io/service-name` label within the slice's namespace.

use std::net::IpAddr;

use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::StandaloneError;
use crate::announce::ServiceView;
use crate::election::Endpoint;

/// The label tying a slice to its Service.
pub(super) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Fills every Service's endpoints. Without any slice at all, every node serves every
/// Service (see the module documentation of `standalone`).
pub(super) fn attach(
    services: &mut [ServiceView],
    slices: &[EndpointSlice],
    node_names: &[String],
    warnings: &mut Vec<String>,
) -> Result<(), StandaloneError> {
    if slices.is_empty() {
        for s in services.iter_mut() {
            s.endpoints = node_names
                .iter()
                .map(|n| Endpoint {
                    node: Some(n.clone()),
                    ready: Some(true),
                    serving: Some(true),
                    addresses: Vec::new(),
                })
                .collect();
        }
        return Ok(());
    }
    for slice in slices {
        let namespace = slice
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = slice.metadata.name.clone().unwrap_or_default();
        let Some(svc_name) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            warnings.push(format!(
                "EndpointSlice/{namespace}/{name}: metadata.labels: no {SERVICE_NAME_LABEL}; ignored"
            ));
            continue;
        };
        let Some(view) = services
            .iter_mut()
            .find(|v| v.service.namespace == namespace && v.service.name == *svc_name)
        else {
            warnings.push(format!(
                "EndpointSlice/{namespace}/{name}: metadata.labels.{SERVICE_NAME_LABEL}: no Service {namespace}/{svc_name}; ignored"
            ));
            continue;
        };
        for (ei, ep) in slice.endpoints.iter().flatten().enumerate() {
            let mut addresses = Vec::new();
            for (ai, a) in ep.addresses.iter().enumerate() {
                let ip: IpAddr = a.parse().map_err(|_| StandaloneError::BadEndpointAddress {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    endpoint: ei,
                    index: ai,
                    value: a.clone(),
                })?;
                addresses.push(ip);
            }
            let cond = ep.conditions.as_ref();
            view.endpoints.push(Endpoint {
                node: ep.node_name.clone(),
                ready: cond.and_then(|c| c.ready),
                serving: cond.and_then(|c| c.serving),
                addresses,
            });
        }
    }
    for v in services.iter().filter(|v| {
        v.service.is_load_balancer && !v.service.ingress_ips.is_empty() && v.endpoints.is_empty()
    }) {
        warnings.push(format!(
            "Service/{}: no EndpointSlice names it; it has no endpoints and is not announced",
            v.service.key()
        ));
    }
    Ok(())
}
