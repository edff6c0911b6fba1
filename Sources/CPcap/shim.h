#ifndef NETSIFT_CPCAP_SHIM_H
#define NETSIFT_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
