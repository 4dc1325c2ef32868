#![allow(missing_docs)]
//! placeholder
