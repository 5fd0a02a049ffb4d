package dev.baton.proxy;

import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterEvent;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.ReplicationReport;
import dev.baton.routing.TopologyType;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.replication.ReplicationCheck;

import dev.baton.proxy.move.AccountHashes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;


/** The admin API's answers, as plain maps and lists that {@link Json} writes. */
final class AdminApi {
    private AdminApi() {
    }

    static Map<String, Object> status(BatonProxy proxy) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("version", BatonProxyMain.version());
        out.put("instance", proxy.config().cluster().instanceName());
        out.put("uptime_seconds", proxy.uptimeMillis() / 1000);
        out.put("cluster_type", proxy.topology().type());
        WriterChoice choice = proxy.topology().currentWriter();
        if (choice instanceof WriterChoice.Writer w) {
            out.put("writer", w.node().name());
            out.put("epoch", w.epoch());
            out.put("no_writer_reason", null);
        } else {
            out.put("writer", null);
            out.put("epoch", null);
            out.put("no_writer_reason", ((WriterChoice.NoWriter) choice).reason());
        }
        Map<String, Object> handover = null;
        if (choice instanceof WriterChoice.Writer w && w.handingOver()) {
            handover = new LinkedHashMap<>();
            handover.put("to", w.handover().to().name());
            handover.put("deadline", w.handover().deadline().toString());
            handover.put("started_by", w.handover().requestedBy());
        }
        out.put("handover", handover); // a planned switchover draining now: new clients wait
        out.put("warning", proxy.capacityWarning());
        Map<String, NodeReport> reports = new LinkedHashMap<>();
        for (NodeReport r : proxy.topology().nodeReports()) {
            reports.put(r.node(), r);
        }
        List<Object> nodes = new ArrayList<>();
        for (Node node : proxy.topology().nodes()) {
            Map<String, Object> n = new LinkedHashMap<>();
            n.put("name", node.name());
            n.put("address", node.address().toString());
            n.put("priority", node.priority());
            NodeReport r = reports.get(node.name());
            n.put("monitored", r != null);
            n.put("up", r == null ? null : r.up());
            n.put("down_reason", r == null ? null : r.reason());
            n.put("not_monitored_reason", r == null ? NOT_MONITORED : null);
            n.put("last_check", r == null || r.lastCheck() == null ? null : r.lastCheck().toString());
            n.put("flow_control_paused", r == null ? null : r.flowControlPaused());
            n.put("recv_queue", r == null ? null : r.localRecvQueue());
            n.put("max_connections", r == null || r.maxConnections() == 0 ? null : r.maxConnections());
            n.put("writer", choice instanceof WriterChoice.Writer w && w.node().equals(node));
            n.put("maintenance", proxy.topology().maintenance().contains(node.name()));
            if (r != null && r.replication() != null) {
                n.put("replication", replication(r.replication()));
            }
            nodes.add(n);
        }
        out.put("nodes", nodes);
        List<Object> clients = new ArrayList<>();
        for (ClientQuota.ClientUsage u : proxy.quota().usage()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("client", u.client());
            c.put("connections", u.connections());
            c.put("limit", u.limit());
            c.put("rejected", u.rejected());
            clients.add(c);
        }
        out.put("clients", clients);
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("connections", proxy.quota().total());
        totals.put("max_total", proxy.quota().settings().maxTotal());
        totals.put("sessions", proxy.activeSessions());
        totals.put("sessions_opened", proxy.sessionsOpened());
        out.put("totals", totals);
        out.put("tls", proxy.clientTls() == null ? null : tls(proxy.clientTls().certificate()));
        return out;
    }

    /** The certificate Baton shows clients, as the status and a reload answer name it. */
    private static Map<String, Object> tls(java.security.cert.X509Certificate certificate) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("certificate_expires", certificate.getNotAfter().toInstant().toString());
        m.put("subject", certificate.getSubjectX500Principal().getName());
        m.put("serial", certificate.getSerialNumber().toString(16));
        return m;
    }

    /**
     * POST /api/v1/tls/reload: reads the TLS files again now.
     *
     * @throws IllegalArgumentException when no tls section is configured
     * @throws IllegalStateException    when the files cannot be used (the old certificate keeps serving)
     */
    static Map<String, Object> reloadTls(BatonProxy proxy) {
        if (proxy.clientTls() == null) {
            throw new IllegalArgumentException("TLS for clients is not configured (no tls section)");
        }
        ClientTls.Reload reload = proxy.clientTls().reload();
        if (reload.refusal() != null) {
            throw new IllegalStateException("the files cannot be used, the old certificate keeps serving: " + reload.refusal());
        }
        return tls(reload.serving().certificate());
    }

    /** A node's replication as the status shows it: role, threads, lag, positions, semi-sync, why it is left out. */
    private static Map<String, Object> replication(ReplicationReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", r.role().name().toLowerCase());
        m.put("read_only", r.readOnly());
        m.put("source", r.source());
        m.put("io_thread", r.ioThread() == null ? null : r.ioThread().name().toLowerCase());
        m.put("sql_thread", r.sqlThread() == null ? null : r.sqlThread().name().toLowerCase());
        m.put("last_io_error", r.lastIoError());
        m.put("last_sql_error", r.lastSqlError());
        m.put("lag_seconds", r.lagSeconds());
        m.put("gtid_binlog_pos", r.gtidBinlogPos());
        m.put("gtid_current_pos", r.gtidCurrentPos());
        m.put("gtid_slave_pos", r.gtidSlavePos());
        m.put("gtid_io_pos", r.gtidIoPos());
        Map<String, Object> semi = new LinkedHashMap<>();
        semi.put("source_enabled", r.semiSync().sourceEnabled());
        semi.put("source_active", r.semiSync().sourceActive());
        semi.put("source_clients", r.semiSync().sourceClients());
        semi.put("replica_enabled", r.semiSync().replicaEnabled());
        semi.put("replica_active", r.semiSync().replicaActive());
        m.put("semi_sync", semi);
        m.put("left_out", r.leftOut());
        return m;
    }

    /**
     * The cluster against the guidance for its kind (the Rancher HA guide for Galera, what failover and rejoin need
     * for primary/replica): each finding pass, warn or fail, with what was seen.
     */
    static Map<String, Object> check(BatonProxy proxy) {
        List<Object> findings = new ArrayList<>();
        List<Node> nodes = proxy.topology().nodes();
        List<NodeReport> reports = proxy.topology().nodeReports();
        if (TopologyType.PRIMARY_REPLICA.configName().equals(proxy.topology().type())) {
            long needed = proxy.quota().settings().maxTotal() + BatonProxy.MONITOR_CONNECTIONS;
            for (ReplicationCheck.Finding f : ReplicationCheck.findings(nodes, reports, needed)) {
                finding(findings, f.check(), f.result().name().toLowerCase(), f.detail());
            }
            oneWriter(findings, proxy);
            sessionMoves(findings, proxy);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("findings", findings);
            return out;
        }
        if (TopologyType.SINGLE.configName().equals(proxy.topology().type())) {
            finding(findings, "nodes configured", "warn", "1 node(s); the Rancher HA guide suggests 3, so one can be "
                    + "backed up or maintained while two serve");
            single(findings, nodes.get(0), reports, proxy.quota().settings().maxTotal() + BatonProxy.MONITOR_CONNECTIONS);
            oneWriter(findings, proxy);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("findings", findings);
            return out;
        }
        int needed = Math.max(250, proxy.quota().settings().maxTotal() + BatonProxy.MONITOR_CONNECTIONS);
        finding(findings, "nodes configured", nodes.size() >= 3 ? "pass" : "warn",
                nodes.size() + " node(s); the Rancher HA guide suggests 3, so one can be backed up or maintained while two serve");
        if (reports.isEmpty()) {
            finding(findings, "nodes reachable and Synced", "warn",
                    "cluster type '" + proxy.topology().type() + "' is not monitored, so Baton cannot tell");
        } else {
            long up = reports.stream().filter(NodeReport::up).count();
            String detail = up + " of " + reports.size() + " node(s) healthy" + reports.stream().filter(r -> !r.up())
                    .map(r -> "; " + r.node() + ": " + r.reason()).reduce("", String::concat);
            finding(findings, "nodes reachable and Synced", up >= 3 ? "pass" : up >= 2 ? "warn" : "fail", detail);
            for (NodeReport r : reports) {
                if (r.maxConnections() > 0) {
                    finding(findings, "max_connections on " + r.node(), r.maxConnections() >= needed ? "pass" : "fail",
                            "max_connections=" + r.maxConnections() + "; needs at least " + needed
                                    + " (250 per the guide, and quotas.max-total plus Baton's monitor connections)");
                }
                String format = r.settings().get("binlog_format");
                if (format != null) {
                    finding(findings, "binlog_format on " + r.node(), "ROW".equalsIgnoreCase(format) ? "pass" : "fail",
                            "binlog_format=" + format + "; Galera replicates only ROW reliably");
                }
                String lockMode = r.settings().get("innodb_autoinc_lock_mode");
                if (lockMode != null) {
                    finding(findings, "innodb_autoinc_lock_mode on " + r.node(), "2".equals(lockMode) ? "pass" : "warn",
                            "innodb_autoinc_lock_mode=" + lockMode + "; Galera needs 2 (interleaved) for concurrent inserts");
                }
            }
        }
        oneWriter(findings, proxy);
        sessionMoves(findings, proxy);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("findings", findings);
        return out;
    }

    /**
     * A single server: whether it answered the monitor's last check (reachable, the monitor user's login accepted,
     * read_only OFF) and whether its max_connections leaves room for {@code quotas.max-total}. Without a monitor user
     * nothing was checked, which is a warning: Baton cannot tell.
     */
    private static void single(List<Object> findings, Node node, List<NodeReport> reports, long needed) {
        if (reports.isEmpty()) {
            finding(findings, "node reachable and writable", "warn", NOT_MONITORED + "; add cluster.monitor (user and "
                    + "password) so Baton checks " + node.name() + " and its max_connections");
            return;
        }
        NodeReport r = reports.get(0);
        finding(findings, "node reachable and writable", r.up() ? "pass" : "fail", r.up()
                ? node.name() + " answered the monitor's last check" + (r.lastCheck() == null ? "" : " at " + r.lastCheck())
                : node.name() + ": " + r.reason());
        if (r.maxConnections() > 0) {
            finding(findings, "max_connections on " + node.name(), r.maxConnections() >= needed ? "pass" : "fail",
                    "max_connections=" + r.maxConnections() + "; needs at least " + needed
                            + " (quotas.max-total plus Baton's monitor connections)");
        }
    }

    /** Why a node has no health to show: only a {@code single} cluster may run without a monitor user. */
    static final String NOT_MONITORED = "not monitored (no monitor user: cluster.monitor is not configured)";

    /**
     * With sessions.move on, whether the monitor user can read the stored password hashes on each node, which moving
     * a session to that node needs; a warning, because without them sessions are closed at a writer change, as with
     * sessions.move off. All nodes are asked at once.
     */
    private static void sessionMoves(List<Object> findings, BatonProxy proxy) {
        if (proxy.accountHashes().isEmpty()) {
            return;
        }
        AccountHashes hashes = proxy.accountHashes().get();
        Map<Node, CompletableFuture<Optional<String>>> asked = new LinkedHashMap<>();
        for (Node node : proxy.topology().nodes()) {
            asked.put(node, hashes.readProblem(node));
        }
        long waitMillis = proxy.config().cluster().monitor().timeout().multipliedBy(3).toMillis() + 1000;
        CompletableFuture.allOf(asked.values().toArray(CompletableFuture[]::new))
                .completeOnTimeout(null, waitMillis, TimeUnit.MILLISECONDS).join();
        for (Map.Entry<Node, CompletableFuture<Optional<String>>> e : asked.entrySet()) {
            String name = e.getKey().name();
            Optional<String> problem = e.getValue().getNow(Optional.of("no answer from node " + name + " within "
                    + waitMillis + " ms"));
            finding(findings, "password hashes readable on " + name, problem.isEmpty() ? "pass" : "warn",
                    problem.map(p -> p + "; until then, sessions are closed instead of moved when " + name
                                    + " becomes the writer")
                            .orElse("the monitor user can read them, so sessions.move can move sessions to " + name));
        }
    }

    private static void oneWriter(List<Object> findings, BatonProxy proxy) {
        WriterChoice choice = proxy.topology().currentWriter();
        finding(findings, "one writer", choice instanceof WriterChoice.Writer ? "pass" : "fail",
                choice instanceof WriterChoice.Writer w ? "every session goes to " + w.node().name() + " (epoch " + w.epoch() + ")"
                        : "no writer: " + ((WriterChoice.NoWriter) choice).reason());
    }

    private static void finding(List<Object> findings, String check, String result, String detail) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("check", check);
        f.put("result", result);
        f.put("detail", detail);
        findings.add(f);
    }

    static Map<String, Object> events(BatonProxy proxy) {
        List<Object> list = new ArrayList<>();
        for (ClusterEvent e : proxy.topology().events()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", e.at().toString());
            m.put("kind", e.kind());
            m.put("subject", e.subject());
            m.put("description", e.description());
            m.put("requested_by", e.requestedBy());
            list.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("events", list);
        return out;
    }
}
