//! The response body, kept within CloudFormation's 4,096-byte limit.

use serde::Serialize;
use std::collections::BTreeMap;

pub const MAX_RESPONSE_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    Failed,
}

/// Serialized as CloudFormation expects. A BTreeMap keeps `Data` in a stable order, so the
/// size accounting below is deterministic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseBody {
    pub status: Status,
    pub reason: String,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub no_echo: bool,
    pub data: BTreeMap<String, String>,
}

fn size(body: &ResponseBody) -> usize {
    serde_json::to_vec(body).map_or(usize::MAX, |b| b.len())
}

impl ResponseBody {
    /// Why this answer's `Data` cannot be sent, naming the largest attribute: `None` when the
    /// body fits with an empty Reason. The runner then answers FAILED under the failed-request
    /// id rule, never with the physical id of a success it could not report.
    pub fn data_overflow(&self) -> Option<String> {
        let mut without_reason = self.clone();
        without_reason.reason.clear();
        if size(&without_reason) <= MAX_RESPONSE_BYTES {
            return None;
        }
        let (largest, bytes) = self
            .data
            .iter()
            .map(|(k, v)| (k.clone(), k.len() + v.len()))
            .max_by_key(|(_, len)| *len)
            .unwrap_or_default();
        Some(format!(
            "the response Data is larger than CloudFormation's {MAX_RESPONSE_BYTES}-byte limit; \
             the largest attribute is {largest} ({bytes} bytes)"
        ))
    }

    /// Serializes within the limit: an oversized Reason is cut and says so. (An oversized
    /// `Data` is the runner's to turn into FAILED first; here it is dropped as a last resort.)
    pub fn into_bytes(mut self) -> (ResponseBody, Vec<u8>) {
        if let Some(reason) = self.data_overflow() {
            self.status = Status::Failed;
            self.reason = reason;
            self.data.clear();
        }
        if size(&self) > MAX_RESPONSE_BYTES {
            let full_reason = std::mem::take(&mut self.reason);
            let suffix = format!(" [Reason truncated from {} bytes]", full_reason.len());
            // Escaping makes the serialized length differ from the byte count, so search for
            // the longest prefix that fits.
            let (mut fits, mut too_long) = (0, full_reason.len());
            while fits + 1 < too_long {
                let mut mid = (fits + too_long) / 2;
                while !full_reason.is_char_boundary(mid) {
                    mid -= 1;
                }
                if mid <= fits {
                    break;
                }
                self.reason = format!("{}{suffix}", &full_reason[..mid]);
                if size(&self) <= MAX_RESPONSE_BYTES {
                    fits = mid;
                } else {
                    too_long = mid;
                }
            }
            self.reason = format!("{}{suffix}", &full_reason[..fits]);
        }
        let bytes = serde_json::to_vec(&self).unwrap_or_default();
        (self, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(reason: &str) -> ResponseBody {
        ResponseBody {
            status: Status::Failed,
            reason: reason.to_owned(),
            physical_resource_id: "stackhand:create-failed:r".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g".into(),
            request_id: "r".into(),
            logical_resource_id: "L".into(),
            no_echo: false,
            data: BTreeMap::new(),
        }
    }

    #[test]
    fn small_bodies_pass_unchanged() {
        let (kept, bytes) = body("short").into_bytes();
        assert_eq!(kept.reason, "short");
        assert!(bytes.len() < 400);
    }

    #[test]
    fn long_reasons_are_cut_and_say_so() {
        let (kept, bytes) = body(&"é\"\\\n".repeat(4000)).into_bytes();
        assert!(bytes.len() <= MAX_RESPONSE_BYTES, "{}", bytes.len());
        assert!(kept.reason.ends_with("[Reason truncated from 20000 bytes]"));
        assert!(
            bytes.len() > MAX_RESPONSE_BYTES - 16,
            "wasteful cut: {}",
            bytes.len()
        );
    }

    #[test]
    fn oversized_data_fails_and_names_the_attribute() {
        let mut b = body("");
        b.status = Status::Success;
        b.data.insert("Small".into(), "x".into());
        b.data.insert("Policy".into(), "p".repeat(5000));
        let (kept, bytes) = b.into_bytes();
        assert!(bytes.len() <= MAX_RESPONSE_BYTES);
        assert_eq!(kept.status, Status::Failed);
        assert!(kept.reason.contains("Policy"), "{}", kept.reason);
        assert!(kept.data.is_empty());
    }

    #[test]
    fn wire_shape_matches_cloudformation() {
        let (_, bytes) = body("why").into_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        for field in [
            "Status",
            "Reason",
            "PhysicalResourceId",
            "StackId",
            "RequestId",
            "LogicalResourceId",
            "NoEcho",
            "Data",
        ] {
            assert!(json.get(field).is_some(), "{field} missing");
        }
        assert_eq!(json["Status"], "FAILED");
    }
}
