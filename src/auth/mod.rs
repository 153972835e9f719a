//! Who is calling: token verification, the viewer it yields, and the policy that decides
//! what that viewer may see and do.

pub mod jwks;
pub mod jwt;
pub mod policy;
pub mod verified_tokens;
pub mod viewer;
