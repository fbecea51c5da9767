//! Controller (work in progress).
