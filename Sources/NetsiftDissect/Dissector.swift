// NetsiftDissect: one file per protocol, and the Dissector that walks a packet bottom-up.
