/* The baseline Netsift is measured against: the least a libpcap program can do with a capture,
 * read every packet with pcap_next_ex and count packets and captured bytes. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char error[PCAP_ERRBUF_SIZE];
    if (argc != 2) { fprintf(stderr, "usage: pcap_loop FILE\n"); return 2; }
    pcap_t *capture = pcap_open_offline(argv[1], error);
    if (!capture) { fprintf(stderr, "pcap_loop: %s\n", error); return 2; }
    struct pcap_pkthdr *header;
    const u_char *data;
    long packets = 0, bytes = 0;
    while (pcap_next_ex(capture, &header, &data) == 1) { packets++; bytes += header->caplen; }
    printf("%ld packets %ld bytes\n", packets, bytes);
    pcap_close(capture);
    return 0;
}
