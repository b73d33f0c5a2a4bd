//! Network support shared by the collector kinds that talk to servers, and not itself a
//! kind (the registry lists no `net`): the HTTP [`client`] the HTTP-speaking kinds use
//! (`http`, `status_page`) and the [`tls`] certificate verifiers with a fixed verdict
//! (`http` reading a certificate that failed verification, `postgres`'s `sslmode=require`).
//! A kind depends on this crate, never on another kind. With `test-support`, [`testing`]
//! serves plain and TLS test servers for the tests of those kinds; with `seeds`, [`seeds`]
//! gives every kind's tests the same classes of secrets to seed into their sources.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "seeds")]
pub mod seeds;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod tls;
