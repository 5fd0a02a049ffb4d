package dev.baton.routing.replication;

import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.ReplicationReport;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import dev.baton.routing.replication.ReplicationNodeState.ThreadState;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code baton check} says about a primary/replica cluster: its servers' settings judged against what failover
 * and rejoin depend on, from the node reports the topology (or a one-off probe) produced. Pure: it reads nothing
 * itself, so every rule is tested without a server.
 */
public final class ReplicationCheck {
    /** A replica further behind than this is reported (a failover waits for it to apply what it received). */
    public static final long LAG_WARN_SECONDS = 5;
    /** A semi-sync wait shorter than this makes the primary fall back to asynchronous replication on a brief hiccup. */
    public static final Duration SEMI_SYNC_TIMEOUT_WARN = Duration.ofSeconds(5);
    /** A replica waits this long without hearing from its primary before it reports the primary lost. */
    public static final Duration NET_TIMEOUT_WARN = Duration.ofSeconds(30);

    private ReplicationCheck() {
    }

    /** How a finding came out. */
    public enum Result {
        /** As it should be. */
        PASS,
        /** Works, but loses something (acknowledged writes, failover time) in some failure. */
        WARN,
        /** Baton cannot fail over or rejoin safely as the cluster is. */
        FAIL
    }

    /**
     * One finding.
     *
     * @param check  what was checked, with the node it concerns
     * @param result how it came out
     * @param detail what was seen, and why it matters
     */
    public record Finding(String check, Result result, String detail) {
    }

    /**
     * Judges a primary/replica cluster.
     *
     * @param nodes             the configured nodes
     * @param reports           the nodes' last reports; a report without {@link NodeReport#replication()} counts
     *                          as not checked yet
     * @param neededConnections the {@code max_connections} every node needs: {@code quotas.max-total} plus the
     *                          connections Baton's monitors hold
     */
    public static List<Finding> findings(List<Node> nodes, List<NodeReport> reports, long neededConnections) {
        List<Finding> out = new ArrayList<>();
        int n = nodes.size();
        out.add(new Finding("nodes configured", n >= 3 && n % 2 == 1 ? Result.PASS : Result.WARN, n + " node(s)"
                + (n >= 3 && n % 2 == 1 ? "" : n == 2
                ? "; a majority of 2 is 2, so losing either node stops failover: use 3"
                : n % 2 == 0 ? "; a majority of " + n + " is " + (n / 2 + 1) + ", so " + n + " nodes survive no more "
                + "failures than " + (n - 1) + ": use an odd count"
                : "; use 3, so one can fail or be maintained while a primary and a replica serve")));

        List<NodeReport> checked = reports.stream().filter(r -> r.replication() != null).toList();
        long up = reports.stream().filter(NodeReport::up).count();
        StringBuilder down = new StringBuilder();
        for (NodeReport r : reports) {
            if (!r.up()) {
                down.append("; ").append(r.node()).append(": ").append(r.reason());
            }
        }
        out.add(new Finding("nodes healthy", up == n ? Result.PASS : up > n / 2 ? Result.WARN : Result.FAIL,
                up + " of " + n + " node(s) healthy" + down));

        List<String> primaries = checked.stream().filter(r -> r.replication().role() == Role.PRIMARY)
                .map(NodeReport::node).toList();
        out.add(new Finding("one primary", primaries.size() == 1 ? Result.PASS : Result.FAIL, switch (primaries.size()) {
            case 0 -> "no node is writable and replicating from nobody";
            case 1 -> primaries.get(0) + " is the primary";
            default -> String.join(", ", primaries) + " are all writable and replicate from nobody: their histories "
                    + "diverge with every write";
        }));

        for (NodeReport r : checked) {
            node(out, r, neededConnections, primaries.size() == 1 ? address(nodes, primaries.get(0)) : null);
        }
        return out;
    }

    private static String address(List<Node> nodes, String name) {
        return nodes.stream().filter(x -> x.name().equals(name)).findFirst().map(x -> x.address().toString()).orElse(null);
    }

    private static void node(List<Finding> out, NodeReport r, long needed, String primaryAddress) {
        ReplicationReport rep = r.replication();
        String node = r.node();
        if (rep.leftOut() != null) {
            out.add(new Finding("in the cluster: " + node, Result.FAIL, "Baton keeps " + node + " out: " + rep.leftOut()));
        }
        if (r.maxConnections() > 0) {
            out.add(new Finding("max_connections on " + node, r.maxConnections() >= needed ? Result.PASS : Result.FAIL,
                    "max_connections=" + r.maxConnections() + "; needs at least " + needed
                            + " (quotas.max-total plus Baton's monitor connections), as any node may become the primary"));
        }
        Map<String, String> s = r.settings();
        boolean replica = rep.role() == Role.REPLICA;
        setting(out, s, node, "gtid_strict_mode", "ON", Result.FAIL,
                "without it a node may apply transactions out of order, and Baton cannot tell a lagging node from a "
                        + "diverged one");
        setting(out, s, node, "log_bin", "ON", Result.FAIL, "a node without a binary log cannot be promoted: "
                + "no replica could follow it");
        setting(out, s, node, "binlog_format", "ROW", Result.FAIL, "statement-based replication can apply differently "
                + "on a replica");
        if (replica) {
            setting(out, s, node, "log_slave_updates", "ON", Result.FAIL, "a replica that does not log what it "
                    + "applies cannot be promoted: the other replicas would miss everything from before the failover");
            out.add(new Finding("read_only on " + node, rep.readOnly() ? Result.PASS : Result.FAIL,
                    "read_only=" + (rep.readOnly() ? "ON" : "OFF") + (rep.readOnly() ? "" : "; a write on a replica "
                            + "diverges it from the primary, and then it can no longer be promoted or rejoined")));
            replication(out, node, rep, primaryAddress);
            netTimeout(out, s, node);
        }
        semiSync(out, s, node, rep);
    }

    private static void setting(List<Finding> out, Map<String, String> settings, String node, String variable,
                                String expected, Result otherwise, String why) {
        String value = settings.get(variable);
        if (value == null) {
            return;
        }
        boolean ok = expected.equalsIgnoreCase(value);
        out.add(new Finding(variable + " on " + node, ok ? Result.PASS : otherwise,
                variable + "=" + value + (ok ? "" : "; needs " + expected + ": " + why)));
    }

    private static void replication(List<Finding> out, String node, ReplicationReport rep, String primaryAddress) {
        String threads = "IO thread " + name(rep.ioThread()) + ", SQL thread " + name(rep.sqlThread());
        String errors = (rep.lastIoError() == null ? "" : "; last IO error: " + rep.lastIoError())
                + (rep.lastSqlError() == null ? "" : "; last SQL error: " + rep.lastSqlError());
        Result result;
        String detail;
        if (rep.sqlThread() != ThreadState.RUNNING) {
            result = Result.FAIL;
            detail = "replicates from " + rep.source() + " but does not apply (" + threads + ")" + errors;
        } else if (rep.ioThread() != ThreadState.RUNNING) {
            result = Result.WARN;
            detail = "receives nothing from " + rep.source() + " (" + threads + ")" + errors;
        } else if (rep.lagSeconds() != null && rep.lagSeconds() > LAG_WARN_SECONDS) {
            result = Result.WARN;
            detail = rep.lagSeconds() + " s behind " + rep.source() + "; a failover to it waits until it applied what "
                    + "it received (warned above " + LAG_WARN_SECONDS + " s)";
        } else {
            result = Result.PASS;
            detail = "replicates from " + rep.source() + ", " + (rep.lagSeconds() == null ? "lag unknown"
                    : rep.lagSeconds() + " s behind");
        }
        if (result == Result.PASS && primaryAddress != null && !primaryAddress.equalsIgnoreCase(rep.source())) {
            result = Result.WARN;
            detail += ", not from the primary " + primaryAddress + " (or from it under another name)";
        }
        out.add(new Finding("replication on " + node, result, detail));
    }

    private static String name(ThreadState state) {
        return state == null ? "none" : state.name().toLowerCase();
    }

    private static void netTimeout(List<Finding> out, Map<String, String> settings, String node) {
        Long seconds = number(settings.get("slave_net_timeout"));
        if (seconds == null) {
            return;
        }
        boolean ok = seconds <= NET_TIMEOUT_WARN.toSeconds();
        out.add(new Finding("slave_net_timeout on " + node, ok ? Result.PASS : Result.WARN, "slave_net_timeout="
                + seconds + " s" + (ok ? "" : "; a replica confirms a silently stopped primary lost only after that "
                + "long (warned above " + NET_TIMEOUT_WARN.toSeconds() + " s)")));
    }

    private static void semiSync(List<Finding> out, Map<String, String> settings, String node, ReplicationReport rep) {
        var semi = rep.semiSync();
        List<String> off = new ArrayList<>();
        if (!semi.sourceEnabled()) {
            off.add("rpl_semi_sync_master_enabled");
        }
        if (!semi.replicaEnabled()) {
            off.add("rpl_semi_sync_slave_enabled");
        }
        if (!off.isEmpty()) {
            out.add(new Finding("semi-sync on " + node, Result.WARN, String.join(" and ", off) + " OFF; without "
                    + "semi-synchronous replication on both sides of every node, writes acknowledged to clients may be "
                    + "lost on a failover"));
        } else if (rep.role() == Role.PRIMARY && !semi.sourceActive()) {
            out.add(new Finding("semi-sync on " + node, Result.WARN, "enabled but not active (" + semi.sourceClients()
                    + " semi-sync replica(s) connected): the primary fell back to asynchronous replication, so "
                    + "acknowledged writes may be lost on a failover"));
        } else if (rep.role() == Role.REPLICA && !semi.replicaActive()) {
            out.add(new Finding("semi-sync on " + node, Result.WARN, "enabled but this replica does not acknowledge "
                    + "now (its IO thread is not connected, or started before semi-sync was enabled)"));
        } else {
            out.add(new Finding("semi-sync on " + node, Result.PASS, "enabled on both sides"
                    + (rep.role() == Role.PRIMARY ? ", active with " + semi.sourceClients() + " replica(s)" : "")
                    + (rep.role() == Role.REPLICA ? ", acknowledging" : "")));
        }
        Long timeoutMs = number(settings.get("rpl_semi_sync_master_timeout"));
        if (semi.sourceEnabled() && timeoutMs != null) {
            boolean ok = timeoutMs >= SEMI_SYNC_TIMEOUT_WARN.toMillis();
            out.add(new Finding("rpl_semi_sync_master_timeout on " + node, ok ? Result.PASS : Result.WARN,
                    "rpl_semi_sync_master_timeout=" + timeoutMs + " ms" + (ok ? "" : "; a primary that waits less "
                            + "falls back to asynchronous replication on a short hiccup, and the writes after it may be "
                            + "lost on a failover (warned below " + SEMI_SYNC_TIMEOUT_WARN.toMillis() + " ms)")));
        }
    }

    private static Long number(String value) {
        if (value == null) {
            return null;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
