//! rtnetlink codec: XDP attach/detach/query requests and reply parsing, no allocation.
