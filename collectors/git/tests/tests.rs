//! Integration tests of the `git` collector against real repositories, built by each test
//! with the `git` command line at controlled commit dates.

mod it;
