package dev.baton.routing.galera;

import dev.baton.routing.Node;
import dev.baton.routing.core.CheckVerdict;
import dev.baton.routing.core.MembershipCheck;
import dev.baton.routing.core.NodeCheck;
import dev.baton.routing.core.NodeHealth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Galera's confirmation that a writer this instance cannot reach has left the cluster: a member that answered its
 * latest check as a Synced Primary node no longer lists the writer in its view. By member id (wsrep_gcomm_uuid
 * against mysql.wsrep_cluster_members) when both are known; else by client address (wsrep_incoming_addresses),
 * and then only from a member whose list names itself by its configured address: otherwise the cluster reports
 * addresses in another form (host names, AUTO) and absence proves nothing. Every view used must come from a check
 * newer than the instance's read of the record; a writer's id known only from an older check counts only when no
 * member of the view could be the writer under a new id.
 */
public final class GaleraViewCheck implements MembershipCheck {

    @Override
    public boolean confirmsLoss(NodeHealth writer, List<NodeHealth> all, Instant notBefore) {
        NodeCheck known = writer.lastAnswer();
        String uuid = known == null ? null : known.memberId().orElse(null);
        // An id learned before the record was read may belong to a run of the server that has since restarted
        // (and been made writer again by another instance): its absence proves a loss only if every member of
        // the view is another node this instance knows, so no member can be the writer under a new id.
        boolean fresh = known != null && known.checkedAt().isAfter(notBefore);
        Set<String> others = all.stream().filter(h -> h != writer).map(NodeHealth::knownMemberId)
                .flatMap(Optional::stream).collect(Collectors.toSet());
        for (NodeHealth h : all) {
            if (h == writer || !(h.last() instanceof GaleraNodeState view) || !(view.verdict() instanceof CheckVerdict.Writable)
                    || !view.checkedAt().isAfter(notBefore)) {
                continue;
            }
            if (uuid != null && view.gcommUuid() != null && view.memberUuids().contains(view.gcommUuid())) {
                if (!view.memberUuids().contains(uuid) && (fresh || others.containsAll(view.memberUuids()))) {
                    return true;
                }
            } else if (view.incomingAddresses().contains(h.node().address().toString())
                    && !view.incomingAddresses().contains(writer.node().address().toString())) {
                return true;
            }
        }
        return false;
    }

    /** True when the node's view can tell who is a member: by its own id, or by its configured address. */
    static boolean comparable(Node node, GaleraNodeState v) {
        return (v.gcommUuid() != null && v.memberUuids().contains(v.gcommUuid()))
                || v.incomingAddresses().contains(node.address().toString());
    }
}
