package dev.baton.routing.replication;

import dev.baton.routing.replication.GtidPosition.Gtid;

/**
 * Whether a node that is not replicating from the primary holds transactions the primary lacks ("errant"
 * transactions), judged from positions alone before Baton points it at the primary. MariaDB's own check backs this
 * up: with {@code gtid_strict_mode} the primary refuses a replica that asks for a transaction its binary log does
 * not hold (error 1236), which Baton then reports and leaves the node out.
 */
public final class Divergence {

    private Divergence() {
    }

    /**
     * @param node      everything the node holds ({@code gtid_binlog_pos} with {@code gtid_current_pos})
     * @param primaryName the primary's node name
     * @param primary   the primary's last check
     * @param promotion the last promotion recorded, or null; it counts only if it promoted {@code primaryName}
     * @return null if the node holds nothing the primary lacks, as far as positions tell; else what it holds that
     *         the primary does not, in an operator's words
     */
    public static String errant(GtidPosition node, String primaryName, ReplicationNodeState primary,
                                NodeRecord.Promotion promotion) {
        GtidPosition held = primary.gtidBinlogPos().union(primary.gtidCurrentPos());
        for (Gtid g : node.byDomain().values()) {
            Gtid w = held.get(g.domain()).orElse(null);
            if (w == null) {
                return "it holds " + g + " in domain " + g.domain() + ", where the primary has nothing";
            }
            int order = Long.compareUnsigned(g.sequence(), w.sequence());
            if (order > 0) {
                return "it holds up to " + g + ", the primary only up to " + w;
            }
            if (order == 0) {
                if (g.serverId() != w.serverId()) {
                    return "it holds " + g + " where the primary holds " + w;
                }
                continue;
            }
            if (g.serverId() == w.serverId() || promotion == null || !promotion.node().equals(primaryName)) {
                continue; // written by the server that wrote the primary's latest, or no promotion to compare with
            }
            Gtid at = promotion.position().get(g.domain()).orElse(null);
            boolean beforePromotion = at != null && (Long.compareUnsigned(g.sequence(), at.sequence()) < 0 || g.equals(at));
            if (!beforePromotion) {
                return "it holds " + g + ", written by server " + g.serverId() + " after the primary was promoted at "
                        + promotion.position();
            }
        }
        return null;
    }

}
