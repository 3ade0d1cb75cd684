// Process-wide memory allocator settings for training (called once by drc-dl at start-up).
#pragma once

namespace drc::dl {

// glibc's malloc returns blocks above its mmap threshold (128 KiB at first, raised as such
// blocks are freed) to the kernel on free, and trims the heap's free top above 128 KiB, so each
// training step maps its activations afresh and takes a page fault per 4 KiB page it touches
// (`perf`: clear_page_erms, exc_page_fault): RNN's and TCN's steps were ~25 % faster without
// them (docs/dl-benchmarks.md, "Session 7"). This keeps
// blocks up to 32 MiB (glibc's largest mmap threshold) on the heap, turns mmap off for larger
// ones too (M_MMAP_MAX 0: TiDE's 73 MB activations with future variables faulted in every step,
// 1.4x slower; "TiDE's speed with future variables" there), and keeps up to 1 GiB of freed heap
// for reuse. Like the jemalloc or tcmalloc preloads PyTorch users reach for, without the
// dependency. Returns false when the C library refused a setting (not glibc: nothing done).
bool KeepFreedMemoryForReuse();

}  // namespace drc::dl
