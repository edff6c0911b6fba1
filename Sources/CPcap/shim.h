#ifndef NETSIFT_CPCAP_SHIM_H
#define NETSIFT_CPCAP_SHIM_H
#include <pcap/pcap.h>

// Swift has no prefetch of its own; the capture reader asks for the next record's lines with this
// (CPcap is the package's one C module, so it lives here rather than in a module of its own).
static inline void netsift_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
