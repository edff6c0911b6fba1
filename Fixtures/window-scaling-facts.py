# Read by the window-scaling fixtures' extra_facts (exec'd there: os, json, subprocess are loaded):
# tshark's reading of a capture's window scaling.
def _tshark(capture, filter, *fields):
    cmd = ["tshark", "-n", "-r", os.path.join(os.environ["NSFT_FIXTURE_DIR"], capture), "-Y", filter,
           "-T", "fields", "-E", "separator=\t"] + [a for f in fields for a in ("-e", f)]
    env = dict(os.environ, LC_ALL="C", HOME="/nonexistent")
    return [l.split("\t") for l in subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout.splitlines()]

def window_scaling(capture):
    """Per SYN and SYN/ACK: its sender and the shift its window scale option offered (None: no
    option), from tcp.options.wscale.shift; per sender, the scale factors tshark applied to its
    windows after the handshake (tcp.window_size_scalefactor: -2 means "no scaling used") and the
    largest window it announced (tcp.window_size)."""
    syns = [{"frame": int(f[0]), "sender": f"{f[1]}:{f[2]}", "syn_ack": f[3] == "1", "wscale_shift": int(f[4]) if f[4] else None}
            for f in _tshark(capture, "tcp.flags.syn == 1", "frame.number", "ip.src", "tcp.srcport", "tcp.flags.ack",
                             "tcp.options.wscale.shift")]
    factors, largest = {}, {}
    for f in _tshark(capture, "tcp.flags.syn == 0", "ip.src", "tcp.srcport", "tcp.window_size_scalefactor", "tcp.window_size"):
        sender = f"{f[0]}:{f[1]}"
        factors.setdefault(sender, set()).add(int(f[2]))
        largest[sender] = max(largest.get(sender, 0), int(f[3]))
    return {"syns": syns, "scale_factors": {k: sorted(v) for k, v in factors.items()}, "largest_window": largest}

def past_window(capture, server_port):
    """The server's data segments whose end (tcp.seq + tcp.len, relative) lies past the right edge
    of the window the client last announced (its tcp.ack + tcp.window_size, as tshark reads them)."""
    edge, past = None, 0
    for f in _tshark(capture, "tcp", "tcp.srcport", "tcp.seq", "tcp.len", "tcp.ack", "tcp.window_size", "tcp.flags.syn"):
        port, seq, length, ack, window, syn = int(f[0]), int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5] == "1"
        if port != server_port:
            if not syn: edge = ack + window
        elif length > 0 and edge is not None and seq + length > edge:
            past += 1
    return past
