//! The one serde pattern every composite wire type uses.
//!
//! `wire_struct!` declares a struct whose `Serialize`/`Deserialize` switch on
//! `is_human_readable()`: DAG-CBOR (fvm_ipld_encoding, not human-readable) sees a tuple in field
//! order, as cbor-gen writes it; serde_json (human-readable) sees an object with Lotus's field
//! names in Lotus's order. Leaf types (`Address`, `Cid`, `BigInt`, `Signature`, …) switch the
//! same way, so the composite impls only choose between tuple and map.

/// Accepts `null` for a field whose Go type is a slice or pointer (nil marshals as `null`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    let value: Option<T> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.unwrap_or_default())
}

/// Declares a wire struct: CBOR tuple in field order, Lotus JSON object with the given keys.
///
/// A field may carry `#[json(...)]` with extra serde attributes for its JSON form only (for
/// example `default, deserialize_with = "crate::wire::null_as_default"` for Go slices).
/// `json_extra: "Key" => method` appends a computed key on JSON output (ignored on input),
/// as Lotus does with a message's `CID`.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[json($($jattr:tt)*)])?
                $json:literal => pub $field:ident : $ty:ty
            ),* $(,)?
        }
        $(json_extra: $ekey:literal => $efn:ident)?
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                const FIELDS: &[&str] = &[$($json),*];
                if serializer.is_human_readable() {
                    use ::serde::ser::SerializeStruct;
                    let extra: usize = 0 $(+ { let _ = $ekey; 1 })?;
                    let mut s = serializer.serialize_struct(stringify!($name), FIELDS.len() + extra)?;
                    $( s.serialize_field($json, &self.$field)?; )*
                    $( s.serialize_field($ekey, &self.$efn())?; )?
                    s.end()
                } else {
                    use ::serde::ser::SerializeTuple;
                    let mut s = serializer.serialize_tuple(FIELDS.len())?;
                    $( s.serialize_element(&self.$field)?; )*
                    s.end()
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    #[derive(::serde::Deserialize)]
                    struct Json {
                        $( #[serde(rename = $json $(, $($jattr)*)?)] $field: $ty, )*
                    }
                    let Json { $($field),* } = Json::deserialize(deserializer)?;
                    Ok($name { $($field),* })
                } else {
                    let ($($field,)*) = <($($ty,)*) as ::serde::Deserialize>::deserialize(deserializer)?;
                    Ok($name { $($field),* })
                }
            }
        }
    };
}

pub(crate) use wire_struct;
