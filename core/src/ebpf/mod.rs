//! eBPF instruction encoder, the embedded XDP redirect programs, and a disassembler.
