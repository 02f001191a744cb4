//! Ids that must not be mixed up. A tenant id and an employee id are both UUIDs, and many
//! queries take both (`WHERE tenant_id = $1 AND id = $2`): as plain `Uuid`s, a call with the
//! two swapped compiles and then finds nothing, or worse. As their own types it does not
//! compile.
//!
//! On the wire and in the database they are exactly the UUID: serde and sqlx are
//! transparent. They deliberately do not implement `utoipa::ToSchema`: a derived schema would
//! turn every id field of the OpenAPI document into a `$ref` to a new component, changing
//! the document clients read. A field of these types declares `#[schema(value_type = Uuid)]`
//! instead, and one that forgets does not compile.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// The id that `uuid` is; the caller vouches for which kind of id it is.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// A fresh random (v4) id, for a row about to be inserted.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The plain UUID, for what is keyed by any UUID (rate-limit buckets, settings).
            pub const fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A tenant's id: the only source of it for a request is its token.
    TenantId
);

uuid_id!(
    /// An employee's id (`employees.id`), unique across tenants but only meaningful within one.
    EmployeeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_the_bare_uuid() {
        let uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let json = serde_json::to_string(&TenantId::from_uuid(uuid)).unwrap();
        assert_eq!(json, format!("\"{uuid}\""));
        let back: EmployeeId = serde_json::from_str(&json).unwrap();
        assert_eq!(back.as_uuid(), uuid);
        assert_eq!(back.to_string(), uuid.to_string());
    }
}
