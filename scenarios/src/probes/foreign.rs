//! Another tenant's strings in a response body, found in one pass over the body.
//!
//! A tenant's strings are its marker and every employee and department id: thousands at a
//! realistic size (4,000 employees a tenant in `load`'s medium profile). Searching the body
//! for each in turn cost a debug build minutes per sweep there; the ids are UUIDs, so one
//! pass over the body picks out every UUID-shaped window and looks it up in a set.

use std::collections::HashSet;

use crate::hrms::TenantFixture;

/// `8-4-4-4-12`: the dashes of a UUID's text.
const UUID_LEN: usize = 36;
const UUID_DASHES: [usize; 4] = [8, 13, 18, 23];

/// One tenant's strings, indexed for [`ForeignStrings::find`].
#[derive(Debug, Default)]
pub struct ForeignStrings {
    /// UUID-shaped strings (the ids).
    ids: HashSet<String>,
    /// The rest (the marker), searched for one by one.
    texts: Vec<String>,
}

fn uuid_shaped(s: &[u8]) -> bool {
    s.len() == UUID_LEN && UUID_DASHES.iter().all(|&i| s[i] == b'-')
}

impl ForeignStrings {
    /// Indexes `tenant`'s marker, employee ids and department ids.
    pub fn of(tenant: &TenantFixture) -> Self {
        let mut strings = Self::default();
        let all = std::iter::once(&tenant.marker)
            .chain(&tenant.employee_ids)
            .chain(&tenant.department_ids);
        for s in all.filter(|s| !s.is_empty()) {
            if uuid_shaped(s.as_bytes()) {
                strings.ids.insert(s.clone());
            } else {
                strings.texts.push(s.clone());
            }
        }
        strings
    }

    /// One of the strings found in `body`, the marker first.
    pub fn find(&self, body: &[u8]) -> Option<&str> {
        if let Some(text) = self.texts.iter().find(|t| contains(body, t)) {
            return Some(text);
        }
        if self.ids.is_empty() || body.len() < UUID_LEN {
            return None;
        }
        (0..=body.len() - UUID_LEN)
            .map(|i| &body[i..i + UUID_LEN])
            .filter(|w| uuid_shaped(w))
            .find_map(|w| {
                let w = std::str::from_utf8(w).ok()?;
                self.ids.get(w).map(String::as_str)
            })
    }
}

/// Whether `needle` (non-empty) occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantFixture {
        TenantFixture {
            marker: "zq-tenant-7".into(),
            employee_ids: (0..5000)
                .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
                .collect(),
            department_ids: vec!["11111111-2222-4333-8444-555555555555".into()],
            ..TenantFixture::default()
        }
    }

    #[test]
    fn finds_an_id_anywhere_the_marker_first_and_nothing_in_a_clean_body() {
        let strings = ForeignStrings::of(&tenant());
        let body = br#"{"items":[{"id":"00000000-0000-4000-8000-000000004999","x":1}]}"#;
        assert_eq!(
            strings.find(body),
            Some("00000000-0000-4000-8000-000000004999")
        );
        // Glued to other text, as a substring search would find it.
        let glued = b"x11111111-2222-4333-8444-555555555555y";
        assert_eq!(
            strings.find(glued),
            Some("11111111-2222-4333-8444-555555555555")
        );
        let both = br#"["zq-tenant-7@example.com","00000000-0000-4000-8000-000000000001"]"#;
        assert_eq!(strings.find(both), Some("zq-tenant-7"));
        let own = br#"{"items":[{"id":"00000000-0000-4000-8000-000000009999"}]}"#;
        assert_eq!(strings.find(own), None);
        assert_eq!(strings.find(b""), None);
    }
}
