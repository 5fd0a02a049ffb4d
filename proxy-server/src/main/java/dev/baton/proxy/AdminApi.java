package dev.baton.proxy;

import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterEvent;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.ReplicationReport;
import dev.baton.routing.TopologyType;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.replication.ReplicationCheck;

import dev.baton.admin.api.CheckReport;
import dev.baton.admin.api.Events;
import dev.baton.admin.api.Health;
import dev.baton.admin.api.Status;
import dev.baton.admin.api.Tls;
import dev.baton.proxy.move.AccountHashes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;


/** The admin API's answers, as the records of {@code dev.baton.admin.api} that both the API and the CLI read. */
final class AdminApi {
    private AdminApi() {
    }

    static Status status(BatonProxy proxy) {
        WriterChoice choice = proxy.topology().currentWriter();
        WriterChoice.Writer writer = choice instanceof WriterChoice.Writer w ? w : null;
        Status.Handover handover = writer != null && writer.handingOver()
                ? new Status.Handover(writer.handover().to().name(), writer.handover().deadline().toString(),
                        writer.handover().requestedBy())
                : null;
        Map<String, NodeReport> reports = new LinkedHashMap<>();
        for (NodeReport r : proxy.topology().nodeReports()) {
            reports.put(r.node(), r);
        }
        List<Status.NodeStatus> nodes = new ArrayList<>();
        for (Node node : proxy.topology().nodes()) {
            NodeReport r = reports.get(node.name());
            boolean monitored = r != null;
            nodes.add(new Status.NodeStatus(node.name(), node.address().toString(), node.priority(), monitored,
                    monitored ? r.up() : null,
                    monitored ? r.reason() : null,
                    monitored ? null : NOT_MONITORED,
                    monitored && r.lastCheck() != null ? r.lastCheck().toString() : null,
                    monitored && Double.isFinite(r.flowControlPaused()) ? r.flowControlPaused() : null,
                    monitored ? r.localRecvQueue() : null,
                    monitored && r.maxConnections() != 0 ? r.maxConnections() : null,
                    writer != null && writer.node().equals(node),
                    proxy.topology().maintenance().contains(node.name()),
                    monitored && r.replication() != null ? replication(r.replication()) : null));
        }
        List<Status.ClientUsage> clients = new ArrayList<>();
        for (ClientQuota.ClientUsage u : proxy.quota().usage()) {
            clients.add(new Status.ClientUsage(u.client(), u.connections(), u.limit(), u.rejected()));
        }
        Status.Totals totals = new Status.Totals(proxy.quota().total(), proxy.quota().settings().maxTotal(),
                proxy.activeSessions(), proxy.sessionsOpened());
        return new Status(BatonProxyMain.version(), proxy.config().cluster().instanceName(), proxy.uptimeMillis() / 1000,
                proxy.topology().type(), writer == null ? null : writer.node().name(), writer == null ? null : writer.epoch(),
                writer == null ? ((WriterChoice.NoWriter) choice).reason() : null, handover, proxy.capacityWarning(), nodes,
                clients, totals, proxy.clientTls() == null ? null : tls(proxy.clientTls().certificate()));
    }

    /** {@code GET /healthz}: 200 with the writer when Baton can route, 503 with the reason when it cannot. */
    static Object health(BatonProxy proxy) {
        WriterChoice choice = proxy.topology().currentWriter();
        if (choice instanceof WriterChoice.Writer w) {
            return new Health("ok", w.node().name(), w.epoch(), proxy.activeSessions(), proxy.capacityWarning());
        }
        return new Health.NoWriter("no-writer", ((WriterChoice.NoWriter) choice).reason());
    }

    /** The certificate Baton shows clients, as the status and a reload answer name it. */
    private static Tls tls(java.security.cert.X509Certificate certificate) {
        return new Tls(certificate.getNotAfter().toInstant().toString(), certificate.getSubjectX500Principal().getName(),
                certificate.getSerialNumber().toString(16));
    }

    /**
     * POST /api/v1/tls/reload: reads the TLS files again now.
     *
     * @throws IllegalArgumentException when no tls section is configured
     * @throws IllegalStateException    when the files cannot be used (the old certificate keeps serving)
     */
    static Tls reloadTls(BatonProxy proxy) {
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
    private static Status.Replication replication(ReplicationReport r) {
        return new Status.Replication(r.role().name().toLowerCase(), r.readOnly(), r.source(),
                r.ioThread() == null ? null : r.ioThread().name().toLowerCase(),
                r.sqlThread() == null ? null : r.sqlThread().name().toLowerCase(),
                r.lastIoError(), r.lastSqlError(), r.lagSeconds(), r.gtidBinlogPos(), r.gtidCurrentPos(), r.gtidSlavePos(),
                r.gtidIoPos(), new Status.SemiSync(r.semiSync().sourceEnabled(), r.semiSync().sourceActive(),
                        (long) r.semiSync().sourceClients(), r.semiSync().replicaEnabled(), r.semiSync().replicaActive()),
                r.leftOut());
    }

    /**
     * The cluster against the guidance for its kind (the Rancher HA guide for Galera, what failover and rejoin need
     * for primary/replica): each finding pass, warn or fail, with what was seen.
     */
    static CheckReport check(BatonProxy proxy) {
        List<CheckReport.Finding> findings = new ArrayList<>();
        List<Node> nodes = proxy.topology().nodes();
        List<NodeReport> reports = proxy.topology().nodeReports();
        if (TopologyType.PRIMARY_REPLICA.configName().equals(proxy.topology().type())) {
            long needed = proxy.quota().settings().maxTotal() + BatonProxy.MONITOR_CONNECTIONS;
            for (ReplicationCheck.Finding f : ReplicationCheck.findings(nodes, reports, needed)) {
                finding(findings, f.check(), f.result().name().toLowerCase(), f.detail());
            }
            oneWriter(findings, proxy);
            sessionMoves(findings, proxy);
            return new CheckReport(findings);
        }
        if (TopologyType.SINGLE.configName().equals(proxy.topology().type())) {
            finding(findings, "nodes configured", "warn", "1 node(s); the Rancher HA guide suggests 3, so one can be "
                    + "backed up or maintained while two serve");
            single(findings, nodes.get(0), reports, proxy.quota().settings().maxTotal() + BatonProxy.MONITOR_CONNECTIONS);
            oneWriter(findings, proxy);
            return new CheckReport(findings);
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
        return new CheckReport(findings);
    }

    /**
     * A single server: whether it answered the monitor's last check (reachable, the monitor user's login accepted,
     * read_only OFF) and whether its max_connections leaves room for {@code quotas.max-total}. Without a monitor user
     * nothing was checked, which is a warning: Baton cannot tell.
     */
    private static void single(List<CheckReport.Finding> findings, Node node, List<NodeReport> reports, long needed) {
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
    private static void sessionMoves(List<CheckReport.Finding> findings, BatonProxy proxy) {
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

    private static void oneWriter(List<CheckReport.Finding> findings, BatonProxy proxy) {
        WriterChoice choice = proxy.topology().currentWriter();
        finding(findings, "one writer", choice instanceof WriterChoice.Writer ? "pass" : "fail",
                choice instanceof WriterChoice.Writer w ? "every session goes to " + w.node().name() + " (epoch " + w.epoch() + ")"
                        : "no writer: " + ((WriterChoice.NoWriter) choice).reason());
    }

    private static void finding(List<CheckReport.Finding> findings, String check, String result, String detail) {
        findings.add(new CheckReport.Finding(check, result, detail));
    }

    static Events events(BatonProxy proxy) {
        List<Events.Event> list = new ArrayList<>();
        for (ClusterEvent e : proxy.topology().events()) {
            list.add(new Events.Event(e.at().toString(), e.kind(), e.subject(), e.description(), e.requestedBy()));
        }
        return new Events(list);
    }
}
