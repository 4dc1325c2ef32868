//! How every error type of the data layer is serialized.

/// Implement `serde::Serialize` for an error type as
/// `{ "kind": self.kind(), "message": self.to_string() }`: the shape a Tauri
/// command's error takes to the front end. The type must have a
/// `fn kind(&self) -> &'static str` (its stable codes, listed in its rustdoc) and
/// `Display`.
///
/// ```
/// # fn main() -> Result<(), serde_json::Error> {
/// #[derive(Debug, thiserror::Error)]
/// #[error("the disk is full")]
/// struct DiskFull;
/// impl DiskFull {
///     fn kind(&self) -> &'static str { "disk_full" }
/// }
/// skill_builder_model::serialize_error!(DiskFull);
/// assert_eq!(
///     serde_json::to_string(&DiskFull)?,
///     r#"{"kind":"disk_full","message":"the disk is full"}"#
/// );
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! serialize_error {
    ($ty:ty) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeStruct as _;
                let mut s = serializer.serialize_struct(stringify!($ty), 2)?;
                s.serialize_field("kind", self.kind())?;
                s.serialize_field("message", &self.to_string())?;
                s.end()
            }
        }
    };
}
