package dev.baton.routing.galera;

import dev.baton.routing.Node;

/**
 * A node's health with hysteresis: it goes down after {@code fall} consecutive failed checks and comes back up
 * after {@code rise} consecutive good ones, so one lost check or one good answer does not flap the writer.
 * "Good" means writable ({@link GaleraNodeState#whyNotWritable()} is null).
 *
 * @param up      the node may be the writer
 * @param reason  why it is down (the last failed check's reason), or null when up
 * @param streak    consecutive checks that disagree with {@code up}
 * @param knownUuid the node's group member id from its last answered check, kept while it does not answer
 */
public record NodeHealth(Node node, boolean up, String reason, int streak, GaleraNodeState last, boolean changed,
                         String knownUuid) {

    public NodeHealth(Node node, boolean up, String reason, int streak, GaleraNodeState last, boolean changed) {
        this(node, up, reason, streak, last, changed, last == null ? null : last.gcommUuid());
    }

    /** Before the first check: down, waiting for {@code rise} good checks. Starting up counts as one check. */
    public static NodeHealth initial(Node node) {
        return new NodeHealth(node, false, "not checked yet", 0, null, false, null);
    }

    /** The health after one more check. */
    public NodeHealth after(GaleraNodeState state, int fall, int rise) {
        String why = state.whyNotWritable();
        boolean good = why == null;
        String uuid = state.reachable() && state.gcommUuid() != null ? state.gcommUuid() : knownUuid;
        if (good == up) {
            return new NodeHealth(node, up, up ? null : why, 0, state, false, uuid);
        }
        int n = streak + 1;
        boolean first = last == null; // the first check decides at once: no history to smooth
        if (first || n >= (up ? fall : rise)) {
            return new NodeHealth(node, good, good ? null : why, 0, state, true, uuid);
        }
        return new NodeHealth(node, up, up ? null : why, n, state, false, uuid);
    }
}
