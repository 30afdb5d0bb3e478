//! `cbor_tuple!`: a struct that is a CBOR array of its fields in order, as cbor-gen writes Go
//! structs (the shape of every Filecoin p2p message).

macro_rules! cbor_tuple {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&($(&self.$field,)*), serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let ($($field,)*) = <($($ty,)*) as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok($name { $($field),* })
            }
        }
    };
}

pub(crate) use cbor_tuple;
